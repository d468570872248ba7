"""Read, check and hold the knowledge base in ``priors/``.

One loader checks everything: ids against the vocabulary, values in range,
distributions that must sum to 1, condition priors that stay at most 1 for every
combination of parent states, no cycles, and a source on every number. Its errors
name the file (or the parameters-table row), the line and the problem. The same
checks run whether the numbers come from the CSV files or from an edited
:func:`parameters` table.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

import pandas as pd

from .vocabulary import HeelnetError, Vocabulary, is_blank

__all__ = ["KnowledgeBase", "PriorsError", "TriageRule", "load_priors"]

SOURCE_KINDS = ("seed", "literature", "assumption")
AGE_NODE = "age_band"
AGE_INPUT = "age_years"
BOOL_STATES = ("no", "yes")
_AGE_STATE = re.compile(r"^age_(\d+)_(\d+)$")

#: file name -> (table name in parameters(), key columns before the number)
FILES: dict[str, tuple[str, tuple[str, ...]]] = {
    "context.csv": ("context_prior", ("node", "state")),
    "conditions.csv": ("condition_prior", ("condition", "parent", "state")),
    "likelihoods.csv": ("likelihood", ("finding", "condition")),
    "leaks.csv": ("leak", ("finding",)),
    "triage.csv": ("triage_rule", ("rule", "level", "findings", "condition", "wording")),
}
_NUMBER_COLUMN = {"triage.csv": "threshold"}
SOURCE_COLUMNS = ("source_kind", "source", "derivation")
PARAMETER_COLUMNS = (
    "table", "node", "parent", "state", "parents", "value", "source_kind", "source",
    "derivation", "level", "findings", "wording", "file", "line",
)


class PriorsError(HeelnetError):
    """A problem in the knowledge base; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class TriageRule:
    """One rule of ``priors/triage.csv``: findings that must all be present and/or a
    condition whose posterior must reach ``threshold``."""

    rule: str
    level: str
    findings: tuple[str, ...]
    condition: str | None
    threshold: float | None
    wording: str
    source_kind: str
    source: str


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything in ``priors/``, checked and in the shapes the network needs."""

    vocabulary: Vocabulary
    context_states: dict[str, tuple[str, ...]]
    context_priors: dict[str, dict[str, float]]
    age_bands: tuple[tuple[str, int, int], ...]
    baselines: dict[str, float]
    risk_ratios: dict[str, dict[str, dict[str, float]]]
    links: dict[str, dict[str, float]]
    leaks: dict[str, float]
    triage_rules: tuple[TriageRule, ...]
    records: pd.DataFrame = field(repr=False)

    @property
    def context_nodes(self) -> tuple[str, ...]:
        """Network names of the context nodes (``age_years`` becomes ``age_band``)."""
        return tuple(self.context_states)

    def condition_parents(self, condition: str) -> tuple[str, ...]:
        """The parents of a condition node, in the order its rows first name them."""
        return tuple(self.risk_ratios[condition])

    def finding_parents(self, finding: str) -> tuple[str, ...]:
        """The conditions linked to a finding, in vocabulary order."""
        linked = self.links.get(finding, {})
        return tuple(c for c in self.vocabulary.conditions if c in linked)

    def age_band(self, age_years: int) -> str:
        """The ``age_band`` state of a whole age in years."""
        for state, lo, hi in self.age_bands:
            if lo <= age_years <= hi:
                return state
        raise PriorsError(f"no age band covers {age_years} years")  # loader prevents this

    def states(self, node: str) -> tuple[str, ...]:
        """State names of any node of the network."""
        return self.context_states.get(node, BOOL_STATES)

    def parameters(self) -> pd.DataFrame:
        """One row per number (and per triage rule), with its source."""
        return self.records.copy()


# ----------------------------------------------------------------------------- reading


def _default_priors() -> Traversable:
    return resources.files("model.priors")


def _read_rows(text: str, where: str) -> tuple[list[str], list[dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    header = list(reader.fieldnames or [])
    rows, start = [], 2
    for row in reader:
        if None in row:
            raise PriorsError(f"{where}, line {start}: more cells than the header has columns")
        row["_where"] = f"{where}, line {start}"
        row["_file"], row["_line"] = where, start
        rows.append(row)
        start = reader.line_num + 1
    return header, rows


def load_priors(directory: str | Path | Traversable | None = None) -> KnowledgeBase:
    """Load and check the knowledge base from a folder of CSV files.

    Parameters
    ----------
    directory : path, optional
        A folder laid out like ``priors/``; the bundled knowledge base by default.

    Raises
    ------
    PriorsError
        Naming the file, the line and the problem.

    Examples
    --------
    >>> kb = load_priors()
    >>> kb.baselines["achilles_tendinopathy"] > 0
    True
    """
    base: Traversable = _default_priors() if directory is None else Path(directory)
    label = "priors" if directory is None else str(directory)

    def text(name: str) -> str:
        entry = base / name
        if not entry.is_file():
            raise PriorsError(f"{label}/{name}: file not found")
        return entry.read_text(encoding="utf-8")

    vocabulary = Vocabulary.from_csv_text(text("vocabulary.csv"), f"{label}/vocabulary.csv")
    tables = {}
    for name in FILES:
        header, rows = _read_rows(text(name), f"{label}/{name}")
        needed = [*FILES[name][1], _NUMBER_COLUMN.get(name, "value"), *SOURCE_COLUMNS]
        missing = [c for c in needed if c not in header]
        if missing:
            raise PriorsError(f"{label}/{name}: missing column(s) {', '.join(missing)}")
        tables[name] = rows
    return _build(vocabulary, tables)


def from_parameters(table: pd.DataFrame, vocabulary: Vocabulary) -> KnowledgeBase:
    """Rebuild a knowledge base from a (possibly edited) :meth:`parameters` table."""
    if not isinstance(table, pd.DataFrame):
        raise PriorsError(f"expected the DataFrame from parameters(); got {type(table).__name__}")
    missing = [c for c in PARAMETER_COLUMNS if c not in table.columns and c not in ("file", "line")]
    if missing:
        raise PriorsError(f"parameters table: missing column(s) {', '.join(missing)}")
    by_table = {t: f for f, (t, _) in FILES.items()} | {"risk_ratio": "conditions.csv"}
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in FILES}
    for i, rec in enumerate(table.to_dict("records")):
        origin = ""
        if not is_blank(rec.get("file")):
            origin = f" (from {rec['file']}, line {rec.get('line')})"
        where = f"parameters table, row {i}{origin}"
        name = by_table.get(rec["table"])
        if name is None:
            raise PriorsError(
                f"{where}: table must be one of {', '.join(by_table)}; got {rec['table']!r}"
            )
        tables[name].append(_record_to_row(name, rec, where))
    return _build(vocabulary, tables)


def _record_to_row(name: str, rec: Mapping[str, Any], where: str) -> dict[str, Any]:
    def cell(key: str) -> str:
        value = rec.get(key)
        return "" if is_blank(value) else str(value)

    number = rec.get("value")
    row = {
        "_where": where,
        "_file": cell("file") or "parameters table",
        "_line": rec.get("line"),
        "source_kind": cell("source_kind"),
        "source": cell("source"),
        "derivation": cell("derivation"),
    }
    keys = {
        "context.csv": {"node": "node", "state": "state"},
        "conditions.csv": {"condition": "node", "parent": "parent", "state": "state"},
        "likelihoods.csv": {"finding": "node", "condition": "parent"},
        "leaks.csv": {"finding": "node"},
        "triage.csv": {
            "rule": "parent", "level": "level", "findings": "findings",
            "condition": "node", "wording": "wording",
        },
    }[name]
    for column, key in keys.items():
        row[column] = cell(key)
    row[_NUMBER_COLUMN.get(name, "value")] = "" if is_blank(number) else number
    return row


# ----------------------------------------------------------------------------- checking


def _number(row: Mapping[str, Any], column: str, lo: float, hi: float, what: str) -> float:
    raw = row[column]
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise PriorsError(
            f"{row['_where']}: {what} must be a number from {lo:g} to {hi:g}; got {raw!r}"
        ) from None
    if not (lo <= value <= hi) or math.isnan(value):
        raise PriorsError(f"{row['_where']}: {what} must be from {lo:g} to {hi:g}; got {raw}")
    return value


def _check_source(row: Mapping[str, Any]) -> None:
    kind = (row.get("source_kind") or "").strip()
    if kind not in SOURCE_KINDS:
        raise PriorsError(
            f"{row['_where']}: source_kind must be one of {', '.join(SOURCE_KINDS)}; got {kind!r}"
        )
    if not (row.get("source") or "").strip():
        raise PriorsError(f"{row['_where']}: source is empty; every number needs its source")


def _unknown(row: Mapping[str, Any], what: str, name: str, valid: Iterable[str]) -> PriorsError:
    from .vocabulary import suggestion

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


def _build(vocab: Vocabulary, tables: Mapping[str, list[dict[str, Any]]]) -> KnowledgeBase:
    records: list[dict[str, Any]] = []

    def record(row: Mapping[str, Any], table: str, node: str, parent: str, state: str,
               parents: str, value: float, **extra: str) -> None:
        _check_source(row)
        records.append({
            "table": table, "node": node, "parent": parent, "state": state,
            "parents": parents, "value": value, "source_kind": row["source_kind"].strip(),
            "source": row["source"].strip(), "derivation": (row.get("derivation") or "").strip(),
            "level": extra.get("level", ""), "findings": extra.get("findings", ""),
            "wording": extra.get("wording", ""), "file": row["_file"], "line": row["_line"],
        })

    # context -----------------------------------------------------------------
    context_rows: dict[str, list[dict[str, Any]]] = {}
    nodes = {AGE_NODE if c == AGE_INPUT else c: c for c in vocab.context}
    for row in tables["context.csv"]:
        node = row["node"]
        if node not in nodes:
            raise _unknown(row, "context node", node, nodes)
        context_rows.setdefault(node, []).append(row)
    context_states: dict[str, tuple[str, ...]] = {}
    context_priors: dict[str, dict[str, float]] = {}
    age_bands: tuple[tuple[str, int, int], ...] = ()
    for node, var_id in nodes.items():
        rows = context_rows.get(node)
        where = "context.csv"
        if not rows:
            raise PriorsError(f"{where}: context node '{node}' has no prior rows")
        var = vocab[var_id]
        if node == AGE_NODE:
            age_bands = _age_bands(rows)
            states = tuple(b[0] for b in age_bands)
        elif var.type == "enum":
            states = var.values
        else:
            states = BOOL_STATES
        dist: dict[str, float] = {}
        for row in rows:
            state = row["state"]
            allowed = ("yes",) if var.type == "bool" else states
            if state not in allowed:
                raise PriorsError(
                    f"{row['_where']}: state of '{node}' must be {' or '.join(allowed)}; "
                    f"got '{state}'"
                )
            if state in dist:
                raise PriorsError(f"{row['_where']}: '{node} = {state}' is given twice")
            dist[state] = _number(row, "value", 0, 1, f"P({node} = {state})")
            record(row, "context_prior", node, "", state, "population", dist[state])
        if var.type == "bool":
            dist = {"no": 1.0 - dist["yes"], "yes": dist["yes"]}
        elif set(dist) != set(states) or abs(sum(dist.values()) - 1) > 1e-9:
            raise PriorsError(
                f"{rows[0]['_where']}: the states of '{node}' ({', '.join(states)}) need one row "
                f"each, adding up to 1; got {sum(dist.values()):.6g} over {len(dist)} state(s)"
            )
        context_states[node] = states
        context_priors[node] = {s: dist[s] for s in states}

    # conditions --------------------------------------------------------------
    def states_of(node: str) -> tuple[str, ...]:
        return context_states.get(node, BOOL_STATES)

    baselines: dict[str, float] = {}
    baseline_at: dict[str, str] = {}
    risk_ratios: dict[str, dict[str, dict[str, float]]] = {c: {} for c in vocab.conditions}
    for row in tables["conditions.csv"]:
        cond, parent, state = row["condition"], row["parent"].strip(), row["state"].strip()
        if cond not in vocab.conditions:
            raise _unknown(row, "condition", cond, vocab.conditions)
        if not parent:
            if cond in baselines:
                raise PriorsError(f"{row['_where']}: '{cond}' has a second baseline row")
            baselines[cond] = _number(row, "value", 0, 1, f"baseline P({cond})")
            baseline_at[cond] = row["_where"]
            record(row, "condition_prior", cond, "", "", "reference group", baselines[cond])
            continue
        if parent not in context_states and parent not in vocab.conditions:
            valid = [*context_states, *vocab.conditions]
            raise _unknown(row, "parent (a context node or condition)", parent, valid)
        if parent == cond:
            raise PriorsError(f"{row['_where']}: '{cond}' cannot be its own parent")
        if state not in states_of(parent):
            raise PriorsError(
                f"{row['_where']}: state of '{parent}' must be one of "
                f"{', '.join(states_of(parent))}; got '{state}'"
            )
        ratios = risk_ratios[cond].setdefault(parent, {})
        if state in ratios:
            raise PriorsError(f"{row['_where']}: risk ratio for '{parent} = {state}' given twice")
        ratios[state] = _number(row, "value", 0, math.inf, "a risk ratio")
        record(row, "risk_ratio", cond, parent, state, f"{parent} = {state}", ratios[state])
    for cond in vocab.conditions:
        if cond not in baselines:
            raise PriorsError(f"conditions.csv: condition '{cond}' has no baseline row")
        worst = baselines[cond] * math.prod(
            max([1.0, *r.values()]) for r in risk_ratios[cond].values()
        )
        if worst > 1 + 1e-12:
            raise PriorsError(
                f"{baseline_at[cond]}: P({cond}) reaches {worst:.3g} > 1 for its riskiest "
                "combination of parent states; lower the baseline or the risk ratios"
            )
    _check_acyclic(risk_ratios)

    # findings ----------------------------------------------------------------
    links: dict[str, dict[str, float]] = {}
    for row in tables["likelihoods.csv"]:
        finding, cond = row["finding"], row["condition"]
        if finding not in vocab.findings:
            raise _unknown(row, "finding", finding, vocab.findings)
        if cond not in vocab.conditions:
            raise _unknown(row, "condition", cond, vocab.conditions)
        if cond in links.setdefault(finding, {}):
            raise PriorsError(f"{row['_where']}: link {cond} -> {finding} is given twice")
        links[finding][cond] = _number(row, "value", 0, 1, f"P({finding} | {cond})")
        record(row, "likelihood", finding, cond, "yes", f"{cond} present, alone",
               links[finding][cond])
    leaks: dict[str, float] = {}
    for row in tables["leaks.csv"]:
        finding = row["finding"]
        if finding not in vocab.findings:
            raise _unknown(row, "finding", finding, vocab.findings)
        if finding in leaks:
            raise PriorsError(f"{row['_where']}: '{finding}' has a second leak row")
        leaks[finding] = _number(row, "value", 0, 1, f"the leak of {finding}")
        if leaks[finding] >= 1:
            raise PriorsError(f"{row['_where']}: a leak of 1 would make {finding} uninformative")
        record(row, "leak", finding, "", "", "none of the modelled conditions", leaks[finding])
    for finding in vocab.findings:
        if finding not in leaks:
            raise PriorsError(f"leaks.csv: finding '{finding}' has no leak row")

    # triage ------------------------------------------------------------------
    urgent = vocab.triage_levels[:-1]  # the last level is the default (self care)
    rules = []
    for row in tables["triage.csv"]:
        level = row["level"].strip()
        if level not in urgent:
            raise PriorsError(
                f"{row['_where']}: level must be one of {', '.join(urgent)}; got '{level}'"
            )
        needed = tuple(f.strip() for f in (row["findings"] or "").split("&") if f.strip())
        for finding in needed:
            if finding not in vocab.findings:
                raise _unknown(row, "finding", finding, vocab.findings)
        cond = row["condition"].strip() or None
        threshold = None
        if cond is not None:
            if cond not in vocab.conditions:
                raise _unknown(row, "condition", cond, vocab.conditions)
            threshold = _number(row, "threshold", 0, 1, f"the threshold on P({cond})")
        elif not is_blank(row["threshold"]):
            raise PriorsError(f"{row['_where']}: a threshold needs a condition")
        if not needed and cond is None:
            raise PriorsError(f"{row['_where']}: a rule needs findings, a condition, or both")
        if not row["wording"].strip():
            raise PriorsError(f"{row['_where']}: wording is empty; it is what the user reads")
        rule = TriageRule(row["rule"].strip(), level, needed, cond, threshold,
                          row["wording"].strip(), row["source_kind"], row["source"])
        rules.append(rule)
        value = math.nan if threshold is None else threshold
        record(row, "triage_rule", cond or "", rule.rule, "", "posterior threshold", value,
               level=level, findings="&".join(needed), wording=rule.wording)

    frame = pd.DataFrame.from_records(records, columns=list(PARAMETER_COLUMNS))
    return KnowledgeBase(
        vocabulary=vocab,
        context_states=context_states,
        context_priors=context_priors,
        age_bands=age_bands,
        baselines=baselines,
        risk_ratios=risk_ratios,
        links=links,
        leaks=leaks,
        triage_rules=tuple(rules),
        records=frame,
    )


def _check_acyclic(risk_ratios: Mapping[str, Mapping[str, Any]]) -> None:
    edges = {c: [p for p in parents if p in risk_ratios] for c, parents in risk_ratios.items()}
    done: set[str] = set()

    def visit(node: str, path: tuple[str, ...]) -> None:
        if node in path:
            cycle = " -> ".join((*path[path.index(node) :], node))
            raise PriorsError(f"conditions.csv: the condition edges form a cycle: {cycle}")
        if node in done:
            return
        for parent in edges[node]:
            visit(parent, (*path, node))
        done.add(node)

    for node in edges:
        visit(node, ())


def condition_cpd_columns(kb: KnowledgeBase, condition: str) -> tuple[list[str], list[float]]:
    """Parents of ``condition`` and P(yes) for every parent combination (first parent
    varies slowest, as pgmpy's TabularCPD expects)."""
    parents = list(kb.condition_parents(condition))
    ratios = kb.risk_ratios[condition]
    column = []
    for combo in itertools.product(*(kb.states(p) for p in parents)):
        p = kb.baselines[condition]
        for parent, state in zip(parents, combo, strict=True):
            p *= ratios[parent].get(state, 1.0)
        column.append(p)
    return parents, column
