"""Synthetic vignettes forward-sampled from the network, with their true conditions.

Sampling is ancestral and vectorised: nodes are visited parents first and each
node's state is drawn for every case at once from its table in
:class:`~model.network.NetworkTables` (context priors, condition risk tables,
noisy-OR findings), indexed by the parents' sampled states. Then each case is
turned into what a clinic would record:

- **Unasked items.** Each finding is asked with probability ``asked``, each context
  item known with probability ``context_known`` (``age_years`` and ``sex`` with
  ``demographics_known``), independently of everything else, so blanks are
  "missing completely at random" and marginalising them is exact.
- **Who consults.** A case is kept only if a presenting complaint is *reported*:
  a complaint finding (by default every finding whose id contains ``pain``) is
  asked and present. Because the selection uses only reported findings, which
  the model conditions on, it does not bias the posteriors. With
  ``require_condition`` (the default) a case must also have at least one modelled
  diagnosis (an other cause alone does not count); that selection is on the truth,
  which the model does not see, so it makes the posteriors slightly too low on such
  a set (the calibration test samples with ``require_condition=False``).
- **The answers.** ``expected_condition`` lists the diagnoses present, joined by
  ``|``, or ``none``: other causes (conditions of type ``other``) are drawn and
  cause findings like any condition but are never expected, so a case whose only
  causes are other causes is ``none`` (:func:`labelled_cases`, for fitting, lists
  them too); ``expected_triage`` applies the model's triage rules to the reported
  findings with every condition's posterior replaced by its 0/1 truth: the advice
  of a clinician who took the same history and knew the diagnosis.
- **Age.** The sampled band is turned into a whole age drawn uniformly within it
  (the top band only up to 99 years, for readable cases; the model sees the band).

The same ``seed`` gives the same cases.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .checks import Interval, check_ids, check_parameter
from .columns import NONE
from .diagnosis import ModelCore
from .errors import HeelnetError
from .knowledge import AGE_INPUT, AGE_NODE
from .network import NetworkTables
from .progress import bar

__all__ = ["Sample", "iter_samples", "iter_simulated", "sample", "simulate"]

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


def _parents_first(parents: dict[str, tuple[str, ...]]) -> list[str]:
    """Node names ordered so that every node comes after its parents."""
    order: list[str] = []
    placed: set[str] = set()

    def place(node: str) -> None:
        if node not in placed:
            for parent in parents.get(node, ()):
                place(parent)
            placed.add(node)
            order.append(node)

    for node in parents:
        place(node)
    return order


def draw_truth(tables: NetworkTables, n: int, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray]:
    """Ancestral draws of the context and the conditions of ``n`` people.

    Returns ``context`` (n, n_context) state indices and ``truth`` (n, n_conditions)
    0/1, in the order of ``tables``.
    """
    context = np.zeros((n, len(tables.context)), dtype=np.int64)
    ctx_parents = {x: tuple(tables.context[p] for p in tables.context_parents[j])
                   for j, x in enumerate(tables.context)}
    for x in _parents_first(ctx_parents):
        j = tables.context.index(x)
        rows = tuple(context[:, p] for p in tables.context_parents[j])
        probs = tables.context_tables[j][rows] if rows else np.broadcast_to(
            tables.context_tables[j], (n, len(tables.context_states[j])))
        context[:, j] = _draw(rng, probs)
    truth = np.zeros((n, len(tables.conditions)), dtype=np.int8)
    states = {x: context[:, j] for j, x in enumerate(tables.context)}
    cond_parents = dict(zip(tables.conditions, tables.condition_parents, strict=True))
    for c in _parents_first(cond_parents):
        if c not in cond_parents:  # a context parent, already drawn
            continue
        i = tables.conditions.index(c)
        index = tuple(states[p] for p in tables.condition_parents[i])
        table = tables.condition_tables[i]
        p_yes = table[index] if index else np.full(n, float(table))
        truth[:, i] = rng.random(n) < p_yes
        states[c] = truth[:, i].astype(np.int64)
    return context, truth


def draw_findings(tables: NetworkTables, truth: np.ndarray, rng: np.random.Generator
                  ) -> np.ndarray:
    """Noisy-OR draws of every finding given the conditions present (n, n_findings) 0/1."""
    with np.errstate(divide="ignore"):
        log_keep = np.log(np.maximum(1.0 - tables.link, 1e-300))  # (C, F)
    absent = (1.0 - tables.leak) * np.exp(truth.astype(float) @ log_keep)
    return (rng.random(absent.shape) >= absent).astype(np.int8)


def sample(model: ModelCore, n: int, rng: np.random.Generator, **settings: Any) -> Sample:
    """Draw ``n`` consulting cases (see the module docstring for every step); the
    settings are those of :func:`iter_samples`."""
    parts = list(iter_samples(model, n, rng, **settings))
    if not parts:
        return Sample(*(np.zeros((0, k), dtype=t) for k, t in (
            (len(model.context_nodes), np.int64), (len(model.findings), np.int8),
            (len(model.conditions), bool))), np.zeros(0, int), np.zeros(0, int))
    return Sample(*(np.concatenate([getattr(p, f) for p in parts])
                    for f in ("context", "findings", "truth", "ages", "triage")))


def iter_samples(model: ModelCore, n: int, rng: np.random.Generator, *, asked: float = ASKED,
                 context_known: float = 0.7, demographics_known: float = 0.95,
                 require_condition: bool = True, complaint: Iterable[str] | None = None
                 ) -> Iterator[Sample]:
    """Draw ``n`` consulting cases a batch at a time (see the module docstring for every
    step): the parts, in order, hold ``n`` cases in all, and are the same cases as
    :func:`sample` draws with the same generator.

    Parameters
    ----------
    model : ModelCore
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
        Keep only cases with at least one diagnosis present (other causes do not count).
    complaint : iterable of str, optional
        Findings that count as a presenting complaint; by default every finding
        whose id contains ``pain``.

    Yields
    ------
    Sample
    """
    check_parameter("sample", "n", n, Interval(int, 0, None))
    check_parameter("sample", "asked", asked, Interval(float, 0, 1, "right"))
    check_parameter("sample", "context_known", context_known, Interval(float, 0, 1))
    check_parameter("sample", "demographics_known", demographics_known, Interval(float, 0, 1))
    findings_ids = model.findings
    chosen = [f for f in findings_ids if "pain" in f] if complaint is None else list(complaint)
    check_ids("sample", "complaint", chosen, findings_ids, "finding")
    if not chosen:
        raise HeelnetError("The 'complaint' parameter of sample must name at least one finding; "
                           "got none.")
    complaint_idx = np.array([findings_ids.index(f) for f in chosen])
    kb = model.knowledge
    kept = 0
    batch = max(4 * n, 20_000)
    tables = model.tables
    drawn = 0
    diagnoses = model.diagnosis_columns
    while kept < n:
        context, truth = draw_truth(tables, batch, rng)
        drawn += batch
        if require_condition:  # findings are drawn only for cases that can be kept
            some = truth[:, diagnoses].any(axis=1)
            context, truth = context[some], truth[some]
        size = len(truth)
        true_findings = draw_findings(tables, truth, rng)
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
            keep &= truth[:, diagnoses].any(axis=1)
        rules = model.triage_rules
        triage = rules.levels_of(rules.fired(reported[keep], truth[keep].astype(float),
                                             context[keep]))
        take = min(int(keep.sum()), n - kept)
        yield Sample(context[keep][:take], reported[keep][:take],
                     truth[keep][:take].astype(bool), ages[keep][:take], triage[:take])
        kept += int(keep.sum())
        rate = max(kept, 1) / drawn
        batch = int(min(max(1.2 * (n - kept) / rate, 1000), 2_000_000))


def to_frame(model: ModelCore, cases: Sample, prefix: str = "sim", first: int = 1,
             total: int | None = None, other_causes: bool = False) -> pd.DataFrame:
    """Write simulated cases in the batch-scoring input format (text, blank = not asked).

    Cases are numbered from ``first``, with as many digits as ``total`` (all the cases
    of which these are a part) needs. ``expected_condition`` lists the diagnoses
    present (with ``other_causes``, the other causes present too), or ``none``.
    """
    kb = model.knowledge
    n = len(cases)
    width = len(str(total if total is not None else n))
    data: dict[str, np.ndarray] = {
        "case_id": np.array([f"{prefix}{i:0{width}d}" for i in range(first, first + n)],
                            dtype=object)
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
    listed = np.arange(len(model.conditions)) if other_causes else model.diagnosis_columns
    patterns, inverse = np.unique(cases.truth[:, listed], axis=0, return_inverse=True)
    names = np.array(model.conditions)[listed]
    joined = np.array(["|".join(names[p]) or NONE for p in patterns], dtype=object)
    data["expected_condition"] = joined[inverse.reshape(-1)] if n else joined[:0]
    data["expected_triage"] = np.asarray(model.triage_rules.levels, dtype=object)[cases.triage]
    return pd.DataFrame(data)


def simulate(n: int, model: ModelCore, seed: int = 0, **settings: Any) -> pd.DataFrame:
    """Simulate ``n`` consulting cases as a case table for :func:`model.scoring.score`.

    Parameters
    ----------
    n : int
        Number of cases.
    seed : int
        Seed of the random generator: the same seed gives the same table.
    model : ModelCore
        The model to sample from (:func:`model.simulate` uses the bundled one).
    **settings
        ``asked``, ``context_known``, ``demographics_known``, ``require_condition``,
        ``complaint``: see :func:`iter_samples`. With ``require_condition=False``
        (``simulate --all-cases``) every consulting case is kept, and the model's
        posteriors are calibrated on the cases; by default only cases with a
        condition are, and the posteriors run low on them. With ``other_causes=True``
        ``expected_condition`` names the other causes present too, as :func:`model.fit.fit`
        needs (scoring never counts them).

    Returns
    -------
    pandas.DataFrame
        ``case_id``, the context and finding ids in vocabulary order (``yes``/``no``,
        a whole age, ``female``/``male``, blank for not asked), ``expected_condition``
        (``none`` for a case with no modelled condition) and ``expected_triage``.

    Examples
    --------
    >>> from model import Model
    >>> cases = simulate(5, Model.default(), seed=1)
    >>> len(cases), cases["expected_condition"].ne("none").all()
    (5, np.True_)
    """
    frames = list(iter_simulated(n, model, seed, **settings))
    if not frames:
        return to_frame(model, sample(model, 0, np.random.default_rng(seed)))
    return pd.concat(frames, ignore_index=True)


def iter_simulated(n: int, model: ModelCore, seed: int = 0, *, other_causes: bool = False,
                   **settings: Any) -> Iterator[pd.DataFrame]:
    """The rows of :func:`simulate`, a batch at a time (for writing many cases in flat
    memory); a progress bar on a terminal for large ``n``."""
    check_parameter("simulate", "n", n, Interval(int, 0, None))
    check_parameter("simulate", "seed", seed, Interval(int, 0, None))
    rng = np.random.default_rng(seed)
    first = 1
    with bar(n, "simulating", " cases", minimum=20_000) as shown:
        for part in iter_samples(model, n, rng, **settings):
            yield to_frame(model, part, first=first, total=n, other_causes=other_causes)
            first += len(part)
            shown.update(len(part))


def labelled_cases(model: ModelCore, n: int, seed: int = 0, *, asked: float = 1.0,
                   require_condition: bool = False, tables: NetworkTables | None = None
                   ) -> pd.DataFrame:
    """``n`` people drawn from the whole population (no one selected for consulting),
    as labelled cases for :func:`model.fit.fit`: ``expected_condition`` lists the
    conditions present (other causes included: fit reads it as the whole truth), or
    ``none``.

    Each finding is asked with probability ``asked``; context is always known. With
    ``require_condition`` only people with at least one condition are kept (a
    selection on the conditions, which does not bias links and leaks). ``tables``
    draws from other numbers of the same network (a "true" model).

    Examples
    --------
    >>> from model import Model
    >>> cases = labelled_cases(Model.default(), 3, seed=2)
    >>> cases["expected_condition"].tolist()
    ['none', 'none', 'none']
    """
    check_parameter("labelled_cases", "n", n, Interval(int, 1, None))
    check_parameter("labelled_cases", "asked", asked, Interval(float, 0, 1, "right"))
    rng = np.random.default_rng(seed)
    net = tables if tables is not None else model.tables
    contexts, truths = [], []
    kept = 0
    while kept < n:
        context, truth = draw_truth(net, max(n, 20_000) if require_condition else n, rng)
        if require_condition:
            some = truth.any(axis=1)
            context, truth = context[some], truth[some]
        contexts.append(context)
        truths.append(truth)
        kept += len(truth)
    context, truth = np.concatenate(contexts)[:n], np.concatenate(truths)[:n]
    findings = draw_findings(net, truth, rng)
    findings = np.where(rng.random(findings.shape) < asked, findings, -1).astype(np.int8)
    ages = np.full(n, -1)
    if AGE_NODE in model.context_nodes:
        first = np.array([b[1] for b in model.knowledge.age_bands])
        ages = first[context[:, model.context_nodes.index(AGE_NODE)]]
    frame = to_frame(model, Sample(context, findings, truth.astype(bool), ages,
                                   np.zeros(n, dtype=int)), prefix="person", other_causes=True)
    frame["expected_condition"] = frame["expected_condition"].replace("", "none")
    return frame.drop(columns="expected_triage")
