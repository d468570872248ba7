"""Synthetic vignettes forward-sampled from the network, with their true conditions.

Sampling is ancestral and vectorised: nodes are visited in topological order and
each node's state is drawn for every case at once from its conditional
probability table in :meth:`Model.network` (context priors, condition risk tables,
noisy-OR finding tables), indexed by the parents' sampled states. Then each case
is turned into what a clinic would record:

- **Unasked items.** Each finding is asked with probability ``asked``, each context
  item known with probability ``context_known`` (``age_years`` and ``sex`` with
  ``demographics_known``), independently of everything else, so blanks are
  "missing completely at random" and marginalising them is exact.
- **Who consults.** A case is kept only if a presenting complaint is *reported*:
  a complaint finding (by default every finding whose id contains ``pain``) is
  asked and present. Because the selection uses only reported findings, which
  the model conditions on, it does not bias the posteriors. With
  ``require_condition`` (the default) a case must also have at least one modelled
  condition; that selection is on the truth, which the model does not see, so it
  makes the posteriors slightly too low on such a set (the calibration test
  samples with ``require_condition=False``).
- **The answers.** ``expected_condition`` lists the conditions present, joined by
  ``|``; ``expected_triage`` applies the model's triage rules to the reported
  findings with every condition's posterior replaced by its 0/1 truth: the advice
  of a clinician who took the same history and knew the diagnosis.
- **Age.** The sampled band is turned into a whole age drawn uniformly within it
  (the top band only up to 99 years, for readable cases; the model sees the band).

The same ``seed`` gives the same cases.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

from .diagnosis import Model
from .knowledge import AGE_INPUT, AGE_NODE
from .vocabulary import HeelnetError

__all__ = ["Sample", "sample", "simulate"]

#: Oldest age written for the top age band (display only; the model sees the band).
OLDEST_SHOWN = 99
#: Default share of findings asked in a simulated case (the rest are left blank).
ASKED = 0.35


@dataclass(frozen=True)
class Sample:
    """Simulated cases as engine arrays, ready for :meth:`Model.infer`.

    Attributes
    ----------
    context : int64 array (n, n_context_nodes)
        State index per context node, -1 when not known.
    findings : int8 array (n, n_findings)
        1 present, 0 absent, -1 not asked.
    truth : bool array (n, n_conditions)
        Which conditions are present.
    ages : int array (n,)
        Whole age in years (-1 when not known).
    triage : int array (n,)
        Index into the triage levels of the truth-based triage.
    """

    context: np.ndarray
    findings: np.ndarray
    truth: np.ndarray
    ages: np.ndarray
    triage: np.ndarray

    def __len__(self) -> int:
        return len(self.truth)


def _draw(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``probabilities`` (n, k)."""
    cumulative = np.cumsum(probabilities, axis=1)
    u = rng.random(len(probabilities)) * cumulative[:, -1]
    return np.minimum((u[:, None] >= cumulative).sum(axis=1), probabilities.shape[1] - 1)


@dataclass(frozen=True)
class _Node:
    """A node's table, flattened: row ``sum(parent_state * stride)`` holds P(states)."""

    name: str
    parents: tuple[str, ...]
    strides: np.ndarray
    table: np.ndarray  # (parent configurations, states)


def _compile(model: Model) -> list[_Node]:
    """The network's CPDs in topological order, in the shape :func:`_forward` uses."""
    net = model.network()
    nodes = []
    for name in nx.topological_sort(net):
        cpd = net.get_cpds(name)
        parents = tuple(cpd.variables[1:])
        cards = [int(c) for c in cpd.cardinality[1:]]
        strides = np.array([int(np.prod(cards[i + 1:])) for i in range(len(cards))], dtype=int)
        table = cpd.values.reshape(cpd.values.shape[0], -1).T  # parents vary slowest first
        nodes.append(_Node(name, parents, strides, np.ascontiguousarray(table)))
    return nodes


def _forward(nodes: list[_Node], n: int, rng: np.random.Generator,
             states: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Ancestral sample: node -> state index (network state order) for ``n`` cases.

    Nodes already in ``states`` are kept (so a sample can be extended downwards).
    """
    states = {} if states is None else dict(states)
    for node in nodes:
        if node.name in states:
            continue
        row = np.zeros(n, dtype=int)  # a root's table has a single row
        for parent, stride in zip(node.parents, node.strides, strict=True):
            row += states[parent] * stride
        probs = node.table[row]
        if node.table.shape[1] == 2:
            states[node.name] = (rng.random(n) < probs[:, 1]).astype(np.int8)
        else:
            states[node.name] = _draw(rng, probs)
    return states


def sample(model: Model, n: int, rng: np.random.Generator, *, asked: float = ASKED,
           context_known: float = 0.7, demographics_known: float = 0.95,
           require_condition: bool = True, complaint: Iterable[str] | None = None) -> Sample:
    """Draw ``n`` consulting cases (see the module docstring for every step).

    Parameters
    ----------
    model : Model
    n : int
        Cases to keep.
    rng : numpy.random.Generator
    asked : float
        Probability that each finding is asked (otherwise blank).
    context_known : float
        Probability that each context item other than age and sex is known.
    demographics_known : float
        Probability that age (and, separately, sex) is known.
    require_condition : bool
        Keep only cases with at least one condition present.
    complaint : iterable of str, optional
        Findings that count as a presenting complaint; by default every finding
        whose id contains ``pain``.

    Returns
    -------
    Sample
    """
    for name, value in (("asked", asked), ("context_known", context_known),
                        ("demographics_known", demographics_known)):
        if not 0 <= value <= 1:
            raise HeelnetError(f"'{name}' must be a probability from 0 to 1; got {value}")
    findings_ids = model.findings
    chosen = [f for f in findings_ids if "pain" in f] if complaint is None else list(complaint)
    unknown = [f for f in chosen if f not in findings_ids]
    if unknown or not chosen:
        raise HeelnetError(f"'complaint' must name findings of the model; got {unknown or chosen}")
    if asked == 0 and n > 0:
        raise HeelnetError("'asked' must be above 0: cases are kept only when a complaint "
                           "finding is reported, so with nothing asked none would ever be")
    complaint_idx = np.array([findings_ids.index(f) for f in chosen])
    kb = model.knowledge
    parts: list[Sample] = []
    kept = 0
    if n == 0:
        empty = Sample(*(np.zeros((0, k), dtype=t) for k, t in (
            (len(model.context_nodes), np.int64), (len(findings_ids), np.int8),
            (len(model.conditions), bool))), np.zeros(0, int), np.zeros(0, int))
        return empty
    batch = max(4 * n, 20_000)
    nodes = _compile(model)
    upper = [node for node in nodes if node.name not in set(findings_ids)]
    drawn = 0
    while kept < n:
        states = _forward(upper, batch, rng)
        drawn += batch
        truth = np.column_stack([states[c] == 1 for c in model.conditions])
        if require_condition:  # findings are drawn only for cases that can be kept
            some = truth.any(axis=1)
            states = {k: v[some] for k, v in states.items()}
            truth = truth[some]
        size = len(truth)
        states = _forward(nodes, size, rng, states)
        true_findings = np.column_stack([states[f] for f in findings_ids]).astype(np.int8)
        context = np.column_stack([states[c] for c in model.context_nodes]).astype(np.int64)
        reported = np.where(rng.random(true_findings.shape) < asked, true_findings, -1)
        reported = reported.astype(np.int8)
        known_p = np.array([demographics_known if c in (AGE_NODE, "sex") else context_known
                            for c in model.context_nodes])
        context = np.where(rng.random(context.shape) < known_p, context, -1)
        ages = np.full(size, -1)
        if AGE_NODE in model.context_nodes:
            band = context[:, model.context_nodes.index(AGE_NODE)]
            lo = np.array([b[1] for b in kb.age_bands])
            hi = np.minimum(np.array([b[2] for b in kb.age_bands]), OLDEST_SHOWN)
            hi = np.maximum(hi, lo)
            known = band >= 0
            ages[known] = rng.integers(lo[band[known]], hi[band[known]] + 1)
        keep = (reported[:, complaint_idx] == 1).any(axis=1)
        if require_condition:
            keep &= truth.any(axis=1)
        rules = model.triage_rules
        triage = rules.levels_of(rules.fired(reported[keep], truth[keep].astype(float)))
        parts.append(Sample(context[keep], reported[keep], truth[keep], ages[keep], triage))
        kept += int(keep.sum())
        rate = max(kept, 1) / drawn
        batch = int(min(max(1.2 * (n - kept) / rate, 1000), 2_000_000))
    return Sample(*(np.concatenate([getattr(p, f) for p in parts])[:n]
                    for f in ("context", "findings", "truth", "ages", "triage")))


def to_frame(model: Model, cases: Sample, prefix: str = "sim") -> pd.DataFrame:
    """Write simulated cases in the batch-scoring input format (text, blank = not asked)."""
    kb = model.knowledge
    n = len(cases)
    width = len(str(n))
    data: dict[str, np.ndarray] = {
        "case_id": np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)
    }
    yes_no = np.array(["", "no", "yes"], dtype=object)
    for name in model.vocabulary.context:
        if name == AGE_INPUT:
            data[name] = np.where(cases.ages >= 0, cases.ages.astype(str), "").astype(object)
            continue
        codes = cases.context[:, model.context_nodes.index(name)]
        labels = np.array(["", *kb.context_states[name]], dtype=object)
        data[name] = labels[codes + 1]
    for j, name in enumerate(model.findings):
        data[name] = yes_no[cases.findings[:, j].astype(int) + 1]
    patterns, inverse = np.unique(cases.truth, axis=0, return_inverse=True)
    names = np.array(model.conditions)
    joined = np.array(["|".join(names[p]) for p in patterns], dtype=object)
    data["expected_condition"] = joined[inverse.reshape(-1)] if n else joined[:0]
    data["expected_triage"] = np.asarray(model.triage_rules.levels, dtype=object)[cases.triage]
    return pd.DataFrame(data)


def simulate(n: int, seed: int = 0, model: Model | None = None, **settings: object
             ) -> pd.DataFrame:
    """Simulate ``n`` consulting cases as a case table for :func:`model.scoring.score`.

    Parameters
    ----------
    n : int
        Number of cases.
    seed : int
        Seed of the random generator: the same seed gives the same table.
    model : Model, optional
        The bundled model by default.
    **settings
        ``asked``, ``context_known``, ``demographics_known``, ``require_condition``,
        ``complaint``: see :func:`sample`.

    Returns
    -------
    pandas.DataFrame
        ``case_id``, the context and finding ids in vocabulary order (``yes``/``no``,
        a whole age, ``female``/``male``, blank for not asked), ``expected_condition``
        and ``expected_triage``.

    Examples
    --------
    >>> cases = simulate(5, seed=1)
    >>> len(cases), cases["expected_condition"].ne("").all()
    (5, np.True_)
    """
    if not isinstance(n, int) or n < 0:
        raise HeelnetError(f"'n' must be a whole number of cases, 0 or more; got {n!r}")
    model = model or Model.default()
    rng = np.random.default_rng(seed)
    return to_frame(model, sample(model, n, rng, **settings))  # type: ignore[arg-type]
