"""How much the posteriors depend on each number in ``priors/``.

One case, every number
----------------------
:func:`sensitivity` moves each number of the model (every row of
:meth:`Model.parameters` except the triage thresholds) down and up by a relative
``step`` (value × (1 ∓ step)), rebuilds the model with only that number changed,
and records every condition's posterior at both ends. Where ``value × (1 + step)``
would leave the allowed range (a probability above 1, or a baseline × risk ratios
above 1 for the riskiest parents), the step shrinks to half the distance to the
limit, the same on both sides. A number equal to 0 is not moved (a relative step
of 0 is 0). The prior of a many-state context node (``age_band``, ``sex``) moves
with *proportional co-variation*: the other states share the rest in their
original proportions, so the distribution still sums to 1.

The derivative is exact, not a finite-difference estimate. Each of these numbers
enters exactly one conditional probability table, linearly (a baseline, a risk
ratio, a noisy-OR link, a leak, a context prior under co-variation), so
P(evidence) and P(condition, evidence) are both linear in it and the posterior is
a ratio of two linear functions, f(θ) = (a + bθ) / (c + dθ) (Castillo, Gutiérrez
and Hadi 1997; Coupé and van der Gaag 2002). For such a function the derivative at
θ₀ is the harmonic mean of the forward and backward differences,

    f'(θ₀) = 2 (f₊ − f₀)(f₀ − f₋) / (Δ (f₊ − f₋)),

whatever the step Δ, which is what ``derivative`` holds.

Speed: each perturbed model reuses a copy of the network in which only the one
affected table is recomputed; its inference engine is compiled from that
network, and every case is inferred in one batched call. About 2 × 400 compiled
models for the bundled model.

A vignette set, one number swept
--------------------------------
:func:`sweep` scores a set of cases (top-1, top-3, under- and over-triage) under
a series of edited parameter tables, for example :func:`scale_baseline` (a
condition's baseline from half to double) or :func:`widen_age_window` (a
condition's age window widened by whole years, done by splitting the neighbouring
age bands; see its docstring for why that is the honest way).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .knowledge import AGE_NODE, BOOL_STATES, KnowledgeBase
from .network import node_cpd

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .diagnosis import Model

__all__ = [
    "Sensitivity",
    "evaluate",
    "scale_baseline",
    "sensitivity",
    "split_age_band",
    "sweep",
    "widen_age_window",
]

#: tables of parameters() that are numbers in the network (triage thresholds are not)
NETWORK_TABLES = ("context_prior", "condition_prior", "risk_ratio", "likelihood", "leak")
_COLUMNS = (
    "parameter", "table", "node", "parent", "state", "value", "low", "high", "condition",
    "posterior", "posterior_low", "posterior_high", "swing", "derivative",
)


# ----------------------------------------------------------------------------- one case


@dataclass(frozen=True, slots=True)
class Sensitivity:
    """Posteriors of one case as each number of the model moves.

    Attributes
    ----------
    case : dict
        The validated case.
    step : float
        The relative step asked for.
    table : DataFrame
        One row per (number, condition): ``parameter`` (in words), ``table``,
        ``node``, ``parent``, ``state``, ``value`` and the moved values ``low`` and
        ``high``; ``posterior`` and ``posterior_low`` / ``posterior_high`` at the moved
        values; ``swing`` = posterior_high − posterior_low; ``derivative`` = exact
        d posterior / d value (NaN for numbers equal to 0, which are not moved).
    """

    case: dict[str, Any]
    step: float
    table: pd.DataFrame

    def ranked(self, condition: str | None = None, n: int | None = 10) -> pd.DataFrame:
        """The numbers that move ``condition``'s posterior most (all conditions if None).

        Ranked by ``|swing|``, the change of the posterior between the low and the
        high value.
        """
        rows = self.table if condition is None else self.table[self.table.condition == condition]
        if condition is not None and rows.empty:
            raise ValueError(f"unknown condition {condition!r}")
        order = rows.swing.abs().sort_values(ascending=False, kind="stable").index
        out = rows.loc[order].reset_index(drop=True)
        return out if n is None else out.head(n)

    def tornado(self, condition: str, n: int = 12, ax: Axes | None = None) -> Axes:
        """Tornado plot: the ``n`` numbers that move ``condition`` most, low and high ends."""
        import matplotlib.pyplot as plt

        top = self.ranked(condition, n).iloc[::-1]
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 0.35 * len(top) + 1.2))
        base = float(top.posterior.iloc[0]) if len(top) else 0.0
        y = np.arange(len(top))
        ax.barh(y, top.posterior_low - base, left=base, color="#4c72b0",
                label=f"number × (1 − {self.step:g})")
        ax.barh(y, top.posterior_high - base, left=base, color="#dd8452",
                label=f"number × (1 + {self.step:g})")
        ax.axvline(base, color="black", linewidth=0.8)
        ax.set_yticks(y, [_short(p) for p in top.parameter])
        ax.set_xlabel(f"P({condition} | case)")
        ax.set_title(f"Sensitivity of P({condition}) to ±{100 * self.step:g}% on each number")
        ax.legend(loc="lower right", fontsize="small")
        return ax

    def __repr__(self) -> str:
        return (f"Sensitivity({self.table.parameter.nunique()} numbers × "
                f"{self.table.condition.nunique()} conditions, step={self.step:g})")

    def _repr_html_(self) -> str:
        return self.ranked(n=10).to_html(index=False, float_format=lambda x: f"{x:.4g}")


def _short(label: str, width: int = 60) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def _label(rec: Mapping[str, Any]) -> str:
    table, node, parent, state = rec["table"], rec["node"], rec["parent"], rec["state"]
    return {
        "context_prior": f"P({node} = {state})",
        "condition_prior": f"baseline P({node})",
        "risk_ratio": f"risk ratio of {node} for {parent} = {state}",
        "likelihood": f"P({node} | {parent})",
        "leak": f"leak of {node}",
    }[table]


def _upper(kb: KnowledgeBase, rec: Mapping[str, Any]) -> float:
    """The largest value the loader accepts for this number, others fixed."""
    table, node = rec["table"], rec["node"]
    if table in ("context_prior", "likelihood", "leak"):
        return 1.0
    ratios = kb.risk_ratios[node]
    if table == "condition_prior":
        return 1.0 / math.prod(max([1.0, *r.values()]) for r in ratios.values())
    others = math.prod(max([1.0, *r.values()]) for p, r in ratios.items() if p != rec["parent"])
    return 1.0 / (kb.baselines[node] * others)


def _edited(kb: KnowledgeBase, rec: Mapping[str, Any], value: float) -> KnowledgeBase:
    """``kb`` with one number replaced (the records table follows)."""
    table, node, parent, state = rec["table"], rec["node"], rec["parent"], rec["state"]
    change: dict[str, Any] = {}
    if table == "context_prior":
        old = kb.context_priors[node]
        if kb.context_states[node] == BOOL_STATES:
            dist = {"no": 1.0 - value, "yes": value}
        else:  # proportional co-variation of the other states
            scale = (1.0 - value) / (1.0 - old[state])
            dist = {s: value if s == state else p * scale for s, p in old.items()}
        change["context_priors"] = {**kb.context_priors, node: dist}
    elif table == "condition_prior":
        change["baselines"] = {**kb.baselines, node: value}
    elif table == "risk_ratio":
        by_parent = dict(kb.risk_ratios[node])
        by_parent[parent] = {**by_parent[parent], state: value}
        change["risk_ratios"] = {**kb.risk_ratios, node: by_parent}
    elif table == "likelihood":
        change["links"] = {**kb.links, node: {**kb.links[node], parent: value}}
    else:
        change["leaks"] = {**kb.leaks, node: value}
    records = kb.records.copy()
    records.loc[rec["_row"], "value"] = value
    return dataclasses.replace(kb, records=records, **change)


def _harmonic_derivative(f0: np.ndarray, lo: np.ndarray, hi: np.ndarray, delta: float):
    """Exact f'(θ₀) of a ratio of linear functions from f(θ₀ − Δ), f(θ₀), f(θ₀ + Δ)."""
    up, down, span = hi - f0, f0 - lo, hi - lo
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = 2.0 * up * down / (delta * span)
    central = span / (2.0 * delta)
    # a flat or numerically non-monotone triple (changes ~1e-16): the central difference
    return np.where((np.abs(span) > 1e-13) & (up * down > 0), exact, central)


def sensitivity(
    model: Model,
    given: Mapping[str, Any],
    *,
    step: float = 0.1,
    conditions: Sequence[str] | None = None,
    tables: Iterable[str] = NETWORK_TABLES,
) -> Sensitivity:
    """Move every number of ``model`` by ±``step`` (relative) and record the posteriors.

    Parameters
    ----------
    model : Model
        The model to analyse.
    given : mapping of id to value
        One case, as for :func:`model.diagnose` (validated here).
    step : float, default 0.1
        Relative step: each number moves to value × (1 ∓ step), in (0, 1).
    conditions : sequence of str, optional
        Conditions to report (all by default).
    tables : iterable of str
        Which tables of :meth:`Model.parameters` to move (all network numbers by default).

    Returns
    -------
    Sensitivity
        Its ``table`` has one row per (number, condition); see :class:`Sensitivity`.

    Examples
    --------
    >>> from model import Model
    >>> from pathlib import Path
    >>> toy = Model.from_directory(Path("tests/toy_priors"))
    >>> s = sensitivity(toy, {"pain": True})
    >>> s.ranked("tendon", n=1).parameter[0]
    'baseline P(tendon)'
    """
    if not 0 < step < 1:
        raise ValueError(f"The 'step' parameter of sensitivity must be in (0, 1); got {step!r}.")
    conds = list(model.conditions if conditions is None else conditions)
    unknown = [c for c in conds if c not in model.conditions]
    if unknown:
        raise ValueError(f"unknown condition(s) {', '.join(map(repr, unknown))}")
    tables = tuple(tables)
    bad = [t for t in tables if t not in NETWORK_TABLES]
    if bad:
        raise ValueError(f"tables must be among {', '.join(NETWORK_TABLES)}; got {bad!r}")
    cols = [model.conditions.index(c) for c in conds]
    case = model.vocabulary.validate(given)
    context, findings = model.encode([case])
    kb = model.knowledge
    params = kb.records[kb.records.table.isin(tables)]
    f0 = model.infer(context, findings)[0, cols]

    net = model.network()
    index = {c.variable: i for i, c in enumerate(net.cpds)}
    out: list[dict[str, Any]] = []
    for row, rec in params.iterrows():
        rec = {**rec.to_dict(), "_row": row}
        node, value = rec["node"], float(rec["value"])
        delta = min(step * value, 0.5 * (_upper(kb, rec) - value))
        ends = []
        for moved in (value - delta, value + delta):
            if delta <= 0:
                ends.append(f0)
                continue
            edited = _edited(kb, rec, moved)
            original = net.cpds[index[node]]
            net.cpds[index[node]] = node_cpd(edited, node)  # only this table changes
            try:
                ends.append(type(model)(edited, net).infer(context, findings)[0, cols])
            finally:
                net.cpds[index[node]] = original
        lo, hi = ends
        deriv = (_harmonic_derivative(f0, lo, hi, delta) if delta > 0
                 else np.full(len(cols), np.nan))
        label = _label(rec)
        for k, cond in enumerate(conds):
            out.append({
                "parameter": label, "table": rec["table"], "node": rec["node"],
                "parent": rec["parent"], "state": rec["state"], "value": value,
                "low": value - delta, "high": value + delta, "condition": cond,
                "posterior": f0[k], "posterior_low": lo[k], "posterior_high": hi[k],
                "swing": hi[k] - lo[k], "derivative": deriv[k],
            })
    return Sensitivity(case, step, pd.DataFrame(out, columns=list(_COLUMNS)))


# ----------------------------------------------------------------------------- sweeps


def scale_baseline(table: pd.DataFrame, condition: str, factor: float) -> pd.DataFrame:
    """A copy of ``table`` with ``condition``'s baseline multiplied by ``factor``.

    The risk ratios stay, so the condition's prior moves by ``factor`` in every
    context (the loader rejects a factor that would push a prior above 1).
    """
    out = table.copy()
    row = (out.table == "condition_prior") & (out.node == condition)
    if row.sum() != 1:
        raise ValueError(f"no baseline row for condition {condition!r}")
    out.loc[row, "value"] = out.loc[row, "value"] * factor
    out.loc[row, "derivation"] = out.loc[row, "derivation"].astype(str) + (
        f"; sensitivity analysis: multiplied by {factor:g}"
    )
    return out


def _bands(table: pd.DataFrame) -> list[tuple[str, int, int]]:
    rows = table[(table.table == "context_prior") & (table.node == AGE_NODE)]
    bands = []
    for state in rows.state:
        _, lo, hi = state.split("_")
        bands.append((state, int(lo), int(hi)))
    return sorted(bands, key=lambda b: b[1])


def split_age_band(table: pd.DataFrame, at: int) -> pd.DataFrame:
    """A copy of ``table`` in which the age band containing ``at`` starts a new band there.

    Band ``age_a_b`` with a < at ≤ b becomes ``age_a_{at-1}`` and ``age_{at}_b``. Its
    population share is split in proportion to the number of years (ages are taken
    as evenly spread within a band), and every risk ratio given for the old band is
    given, unchanged, for both new ones. So the model is the same for every case;
    the split only lets a later edit treat the new band differently. A band already
    starting at ``at`` is left alone.
    """
    bands = _bands(table)
    hit = [b for b in bands if b[1] < at <= b[2]]
    if not hit:
        if any(b[1] == at for b in bands):
            return table.copy()
        raise ValueError(f"no age band contains {at} years")
    old, lo, hi = hit[0]
    first, second = f"age_{lo}_{at - 1}", f"age_{at}_{hi}"
    note = f"; sensitivity analysis: {old} split at {at} years"
    pieces = []
    for _, rec in table.iterrows():
        if rec.table == "context_prior" and rec.node == AGE_NODE and rec.state == old:
            years = hi - lo + 1
            for state, share in ((first, (at - lo) / years), (second, (hi - at + 1) / years)):
                pieces.append({**rec, "state": state, "value": rec.value * share,
                               "parents": rec.parents,
                               "derivation": f"{rec.derivation}{note}, share by years"})
        elif rec.table == "risk_ratio" and rec.parent == AGE_NODE and rec.state == old:
            for state in (first, second):
                pieces.append({**rec, "state": state, "parents": f"{AGE_NODE} = {state}",
                               "derivation": f"{rec.derivation}{note}"})
        else:
            pieces.append(rec.to_dict())
    return pd.DataFrame(pieces, columns=table.columns).reset_index(drop=True)


def widen_age_window(table: pd.DataFrame, condition: str, years: int) -> pd.DataFrame:
    """A copy of ``table`` with ``condition``'s age window widened by ``years`` each side.

    The window is the run of age bands where the condition's age risk ratio is
    highest (the reference band, with no row, counts as 1). The bands are coarse
    (Sever's disease: the window is ``age_8_14``, its neighbours ``age_0_7`` and
    ``age_15_24``), so raising a whole neighbouring band's ratio would put every
    child under 8 in the window, and averaging the ratio over the band would give
    a 7-year-old only 1/8 of the change. Instead the neighbouring bands are split
    (:func:`split_age_band`) so that the ``years`` next to the window become bands
    of their own, and those get the window's risk ratio. The baseline is not
    changed: the rate inside the old window stays, the all-ages incidence rises a
    little.
    """
    if not isinstance(years, int) or years < 0:
        raise ValueError(f"years must be a whole number >= 0; got {years!r}")
    if years == 0:
        return table.copy()

    def ratios(t: pd.DataFrame) -> dict[str, float]:
        rows = t[(t.table == "risk_ratio") & (t.node == condition) & (t.parent == AGE_NODE)]
        given = dict(zip(rows.state, rows.value.astype(float), strict=True))
        return {b[0]: given.get(b[0], 1.0) for b in _bands(t)}

    if not ((table.table == "risk_ratio") & (table.node == condition)
            & (table.parent == AGE_NODE)).any():
        raise ValueError(f"condition {condition!r} has no age risk ratios: no window to widen")
    rr = ratios(table)
    top = max(rr.values())
    inside = [b for b in _bands(table) if rr[b[0]] == top]
    lo, hi = inside[0][1], inside[-1][2]
    out = table
    for at in (max(lo - years, 0), lo, hi + 1, min(hi + years + 1, 121)):
        if 0 < at <= 120:
            out = split_age_band(out, at)
    new = [b for b in _bands(out) if max(lo - years, 0) <= b[1] and b[2] <= hi + years
           and not lo <= b[1] <= hi]
    for state, _, _ in new:
        row = ((out.table == "risk_ratio") & (out.node == condition)
               & (out.parent == AGE_NODE) & (out.state == state))
        out.loc[row, "value"] = top
        out.loc[row, "derivation"] = out.loc[row, "derivation"].astype(str) + (
            f"; window widened by {years} year(s): set to the window's ratio {top:g}")
    return out


def evaluate(model: Model, cases: pd.DataFrame) -> dict[str, float]:
    """Top-1 and top-3 accuracy and under-/over-triage of ``model`` on a vignette table.

    ``cases`` has vocabulary ids as columns (blank = not asked) and
    ``expected_condition`` (ids joined by ``|``) and ``expected_triage``, as in
    ``model/data/text_vignettes.csv``; other columns are passed over. The figures are
    :func:`model.metrics.evaluate`'s on :func:`model.scoring.score`'s output, as shares:
    under-triage is the share of cases with an expected triage advised less urgent care.
    """
    from .metrics import evaluate as summarise
    from .scoring import score

    extra = [c for c in cases.columns if c not in model.vocabulary
             and c not in ("case_id", "expected_condition", "expected_triage")]
    summary = summarise(score(cases, model, keep=extra), model.conditions,
                        model.triage_rules.levels)
    return {
        "top1": summary.top1_accuracy,
        "top3": summary.top3_accuracy,
        "under_triage": summary.under_triage / summary.with_triage
        if summary.with_triage else math.nan,
        "over_triage": summary.over_triage / summary.with_triage
        if summary.with_triage else math.nan,
        "n": float(summary.rows),
    }


def sweep(
    model: Model,
    cases: pd.DataFrame,
    edit: Callable[[pd.DataFrame, Any], pd.DataFrame],
    values: Iterable[Hashable],
) -> pd.DataFrame:
    """Score ``cases`` under a series of edits of ``model``'s parameter table.

    Parameters
    ----------
    model : Model
        The starting model.
    cases : DataFrame
        Vignettes, as for :func:`evaluate`.
    edit : callable (table, value) -> table
        Makes the edited table for one value, e.g.
        ``lambda t, f: scale_baseline(t, "achilles_tendinopathy", f)``.
    values : iterable
        The values to sweep.

    Returns
    -------
    DataFrame
        One row per value: ``value``, ``top1``, ``top3``, ``under_triage``,
        ``over_triage``, ``n``. Every edited table goes through the loader's checks
        (:meth:`Model.from_parameters`).
    """
    table = model.parameters()
    rows = []
    for value in values:
        variant = type(model).from_parameters(edit(table, value), vocabulary=model.vocabulary)
        rows.append({"value": value, **evaluate(variant, cases)})
    return pd.DataFrame(rows)
