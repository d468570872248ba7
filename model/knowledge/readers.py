"""One reader per priors file: check its records and put them in the shapes the
network needs. Each error names the file (or table row), the line and the problem."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..vocabulary import Vocabulary, is_blank, suggestion
from .base import AGE_INPUT, AGE_NODE, BOOL_STATES, PriorsError, TriageRule
from .records import Recorder

__all__ = ["read_conditions", "read_context", "read_leaks", "read_likelihoods", "read_triage"]

_AGE_STATE = re.compile(r"^age_(\d+)_(\d+)$")


def _number(row: Mapping[str, Any], lo: float, hi: float, what: str) -> float:
    raw = row["value"]
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise PriorsError(
            f"{row['_where']}: {what} must be a number from {lo:g} to {hi:g}; got {raw!r}"
        ) from None
    if not (lo <= value <= hi) or math.isnan(value):
        raise PriorsError(f"{row['_where']}: {what} must be from {lo:g} to {hi:g}; got {raw}")
    return value


def _unknown(row: Mapping[str, Any], what: str, name: str, valid: Iterable[str]) -> PriorsError:
    return PriorsError(f"{row['_where']}: unknown {what} '{name}'{suggestion(name, valid)}")


def _age_bands(rows: list[dict[str, Any]]) -> tuple[tuple[str, int, int], ...]:
    bands = []
    for row in rows:
        match = _AGE_STATE.match(row["state"])
        if not match:
            raise PriorsError(
                f"{row['_where']}: age_band states must look like age_8_14; got '{row['state']}'"
            )
        bands.append((row["state"], int(match[1]), int(match[2]), row))
    bands.sort(key=lambda b: b[1])
    expected = 0
    for state, lo, hi, row in bands:
        if lo != expected or hi < lo:
            raise PriorsError(
                f"{row['_where']}: age band {state} should start at {expected} years "
                "(bands must cover 0-120 without gaps or overlaps)"
            )
        expected = hi + 1
    if expected != 121:
        raise PriorsError(f"{bands[-1][3]['_where']}: the last age band must end at 120 years")
    return tuple((s, lo, hi) for s, lo, hi, _ in bands)


def read_context(vocab: Vocabulary, rows: list[dict[str, Any]], out: Recorder) -> dict[str, Any]:
    """context.csv: P(node = state) for every context node (for a yes/no node with parents,
    in the reference group), and risk ratios of its parents' states."""
    nodes = {AGE_NODE if c == AGE_INPUT else c: c for c in vocab.context}
    by_node: dict[str, list[dict[str, Any]]] = {}
    risk_rows = [row for row in rows if row["parent"]]
    for row in (row for row in rows if not row["parent"]):
        if row["node"] not in nodes:
            raise _unknown(row, "context node", row["node"], nodes)
        by_node.setdefault(row["node"], []).append(row)
    states_of: dict[str, tuple[str, ...]] = {}
    priors: dict[str, dict[str, float]] = {}
    age_bands: tuple[tuple[str, int, int], ...] = ()
    for node, var_id in nodes.items():
        node_rows = by_node.get(node)
        if not node_rows:
            raise PriorsError(f"context.csv: context node '{node}' has no prior rows")
        var = vocab[var_id]
        if node == AGE_NODE:
            age_bands = _age_bands(node_rows)
            states = tuple(b[0] for b in age_bands)
        else:
            states = var.values if var.type == "enum" else BOOL_STATES
        allowed = ("yes",) if var.type == "bool" else states
        dist: dict[str, float] = {}
        for row in node_rows:
            state = row["state"]
            if state not in allowed:
                raise PriorsError(
                    f"{row['_where']}: state of '{node}' must be {' or '.join(allowed)}; "
                    f"got '{state}'"
                )
            if state in dist:
                raise PriorsError(f"{row['_where']}: '{node} = {state}' is given twice")
            dist[state] = _number(row, 0, 1, f"P({node} = {state})")
            out.add(row, "context_prior", dist[state], parents="population", node=node,
                    state=state, many_state=var.type != "bool")
        if var.type == "bool":
            dist = {"no": 1.0 - dist["yes"], "yes": dist["yes"]}
        elif set(dist) != set(states) or abs(sum(dist.values()) - 1) > 1e-9:
            raise PriorsError(
                f"{node_rows[0]['_where']}: the states of '{node}' ({', '.join(states)}) need "
                f"one row each, adding up to 1; got {sum(dist.values()):.6g} over "
                f"{len(dist)} state(s)"
            )
        states_of[node] = states
        priors[node] = {s: dist[s] for s in states}
    ratios = _context_risks(vocab, risk_rows, out, states_of, priors)
    return {"context_states": states_of, "context_priors": priors, "age_bands": age_bands,
            "context_risk_ratios": ratios}


def _context_risks(vocab: Vocabulary, rows: list[dict[str, Any]], out: Recorder,
                   states_of: Mapping[str, tuple[str, ...]],
                   priors: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
    """Risk ratios on P(yes) of a yes/no context node by the states of other context nodes."""
    ratios: dict[str, dict[str, dict[str, float]]] = {}
    for row in rows:
        node, parent, state = row["node"], row["parent"], row["parent_state"]
        if node not in states_of:
            raise _unknown(row, "context node", node, states_of)
        if states_of[node] != BOOL_STATES or row["state"] != "yes":
            raise PriorsError(f"{row['_where']}: only a yes/no context node can have risk "
                              f"ratios, on its 'yes' state; got '{node} = {row['state']}'")
        if parent not in states_of:
            raise _unknown(row, "parent context node", parent, states_of)
        if parent == node:
            raise PriorsError(f"{row['_where']}: '{node}' cannot be its own parent")
        if state not in states_of[parent]:
            raise PriorsError(f"{row['_where']}: state of '{parent}' must be one of "
                              f"{', '.join(states_of[parent])}; got '{state}'")
        given = ratios.setdefault(node, {}).setdefault(parent, {})
        if state in given:
            raise PriorsError(f"{row['_where']}: risk ratio for '{parent} = {state}' given twice")
        given[state] = _number(row, 0, math.inf, "a risk ratio")
        out.add(row, "context_risk_ratio", given[state], parents=f"{parent} = {state}",
                node=node, state="yes", parent=parent, parent_state=state)
    for node, by_parent in ratios.items():
        worst = priors[node]["yes"] * math.prod(max([1.0, *r.values()]) for r in by_parent.values())
        if worst > 1 + 1e-12:
            raise PriorsError(f"context.csv: P({node} = yes) reaches {worst:.3g} > 1 for its "
                              "riskiest combination of parent states; lower its prior or ratios")
    _check_acyclic(ratios, "context.csv", "the context edges")
    return ratios


def read_conditions(vocab: Vocabulary, rows: list[dict[str, Any]], out: Recorder,
                     context_states: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
    """conditions.csv: each condition's baseline and the risk ratios of its parents."""
    baselines: dict[str, float] = {}
    baseline_at: dict[str, str] = {}
    ratios: dict[str, dict[str, dict[str, float]]] = {c: {} for c in vocab.conditions}
    for row in rows:
        cond, parent, state = row["node"], row["parent"], row["parent_state"]
        if cond not in vocab.conditions:
            raise _unknown(row, "condition", cond, vocab.conditions)
        if not parent:
            if cond in baselines:
                raise PriorsError(f"{row['_where']}: '{cond}' has a second baseline row")
            baselines[cond] = _number(row, 0, 1, f"baseline P({cond})")
            baseline_at[cond] = row["_where"]
            out.add(row, "condition_prior", baselines[cond], parents="reference group",
                    node=cond, state="yes")
            continue
        if parent not in context_states and parent not in vocab.conditions:
            raise _unknown(row, "parent (a context node or condition)", parent,
                           [*context_states, *vocab.conditions])
        if parent == cond:
            raise PriorsError(f"{row['_where']}: '{cond}' cannot be its own parent")
        parent_states = context_states.get(parent, BOOL_STATES)
        if state not in parent_states:
            raise PriorsError(
                f"{row['_where']}: state of '{parent}' must be one of "
                f"{', '.join(parent_states)}; got '{state}'"
            )
        given = ratios[cond].setdefault(parent, {})
        if state in given:
            raise PriorsError(f"{row['_where']}: risk ratio for '{parent} = {state}' given twice")
        given[state] = _number(row, 0, math.inf, "a risk ratio")
        out.add(row, "risk_ratio", given[state], parents=f"{parent} = {state}", node=cond,
                state="yes", parent=parent, parent_state=state)
    for cond in vocab.conditions:
        if cond not in baselines:
            raise PriorsError(f"conditions.csv: condition '{cond}' has no baseline row")
        worst = baselines[cond] * math.prod(max([1.0, *r.values()]) for r in ratios[cond].values())
        if worst > 1 + 1e-12:
            raise PriorsError(
                f"{baseline_at[cond]}: P({cond}) reaches {worst:.3g} > 1 for its riskiest "
                "combination of parent states; lower the baseline or the risk ratios"
            )
    _check_acyclic(ratios)
    return {"baselines": baselines, "risk_ratios": ratios}


def read_likelihoods(vocab: Vocabulary, rows: list[dict[str, Any]], out: Recorder
                      ) -> dict[str, Any]:
    """likelihoods.csv: the noisy-OR link of each condition to each finding it causes."""
    links: dict[str, dict[str, float]] = {}
    for row in rows:
        finding, cond = row["node"], row["parent"]
        if finding not in vocab.findings:
            raise _unknown(row, "finding", finding, vocab.findings)
        if cond not in vocab.conditions:
            raise _unknown(row, "condition", cond, vocab.conditions)
        if cond in links.setdefault(finding, {}):
            raise PriorsError(f"{row['_where']}: link {cond} -> {finding} is given twice")
        links[finding][cond] = _number(row, 0, 1, f"P({finding} | {cond})")
        out.add(row, "likelihood", links[finding][cond], parents=f"{cond} present, alone",
                node=finding, state="yes", parent=cond)
    return {"links": links}


def read_leaks(vocab: Vocabulary, rows: list[dict[str, Any]], out: Recorder) -> dict[str, Any]:
    """leaks.csv: P(finding | none of the modelled conditions), one per finding."""
    leaks: dict[str, float] = {}
    for row in rows:
        finding = row["node"]
        if finding not in vocab.findings:
            raise _unknown(row, "finding", finding, vocab.findings)
        if finding in leaks:
            raise PriorsError(f"{row['_where']}: '{finding}' has a second leak row")
        leaks[finding] = _number(row, 0, 1, f"the leak of {finding}")
        if leaks[finding] >= 1:
            raise PriorsError(f"{row['_where']}: a leak of 1 would make {finding} uninformative")
        out.add(row, "leak", leaks[finding], parents="none of the modelled conditions",
                node=finding, state="yes")
    for finding in vocab.findings:
        if finding not in leaks:
            raise PriorsError(f"leaks.csv: finding '{finding}' has no leak row")
    return {"leaks": leaks}


def _triage_context(row: Mapping[str, Any], context_states: Mapping[str, tuple[str, ...]]
                    ) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """A rule's ``context`` cell: terms joined by ``&``, each ``node`` (a yes/no item
    answered yes) or ``node=state|state`` (the node known to be in one of the states)."""
    terms = []
    for term in (t.strip() for t in row.get("context", "").split("&")):
        if not term:
            continue
        node, _, states = (part.strip() for part in term.partition("="))
        if node not in context_states:
            raise _unknown(row, "context node", node, context_states)
        allowed = context_states[node]
        if not states:
            if allowed != BOOL_STATES:
                raise PriorsError(f"{row['_where']}: '{node}' is not a yes/no item; write "
                                  f"{node}=state, with states from {', '.join(allowed)}")
            states = "yes"
        picked = tuple(s.strip() for s in states.split("|"))
        for state in picked:
            if state not in allowed:
                raise PriorsError(f"{row['_where']}: state of '{node}' must be one of "
                                  f"{', '.join(allowed)}; got '{state}'")
        if any(node == done for done, _ in terms):
            raise PriorsError(f"{row['_where']}: context '{node}' is named twice in one rule; "
                              "join its states with |")
        terms.append((node, picked))
    return tuple(terms)


def read_triage(vocab: Vocabulary, rows: list[dict[str, Any]], out: Recorder,
                context_states: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
    """triage.csv: findings that must all be present, context items in given states,
    and/or a posterior threshold."""
    urgent = vocab.triage_levels[:-1]  # the last level is the default (self care)
    rules = []
    for row in rows:
        level = row["level"]
        if level not in urgent:
            raise PriorsError(
                f"{row['_where']}: level must be one of {', '.join(urgent)}; got '{level}'"
            )
        needed = tuple(f.strip() for f in row["findings"].split("&") if f.strip())
        for finding in needed:
            if finding not in vocab.findings:
                raise _unknown(row, "finding", finding, vocab.findings)
        context = _triage_context(row, context_states)
        cond = row["node"] or None
        threshold = None
        if cond is not None:
            if cond not in vocab.conditions:
                raise _unknown(row, "condition", cond, vocab.conditions)
            threshold = _number(row, 0, 1, f"the threshold on P({cond})")
        elif not is_blank(row["value"]):
            raise PriorsError(f"{row['_where']}: a threshold needs a condition")
        if not needed and cond is None:
            raise PriorsError(f"{row['_where']}: a rule needs findings, a condition, or both")
        if not row["wording"]:
            raise PriorsError(f"{row['_where']}: wording is empty; it is what the user reads")
        rule = TriageRule(row["rule"], level, needed, cond, threshold, row["wording"],
                          row["source_kind"], row["source"], context)
        rules.append(rule)
        out.add(row, "triage_rule", math.nan if threshold is None else threshold,
                parents="posterior threshold", node=cond or "", rule=rule.rule, level=level,
                findings="&".join(needed), wording=rule.wording,
                context="&".join(f"{n}={'|'.join(st)}" for n, st in context))
    return {"triage_rules": tuple(rules)}


def _check_acyclic(risk_ratios: Mapping[str, Mapping[str, Any]], where: str = "conditions.csv",
                   what: str = "the condition edges") -> None:
    edges = {c: [p for p in parents if p in risk_ratios] for c, parents in risk_ratios.items()}
    done: set[str] = set()

    def visit(node: str, path: tuple[str, ...]) -> None:
        if node in path:
            cycle = " -> ".join((*path[path.index(node) :], node))
            raise PriorsError(f"{where}: {what} form a cycle: {cycle}")
        if node in done:
            return
        for parent in edges[node]:
            visit(parent, (*path, node))
        done.add(node)

    for node in edges:
        visit(node, ())


