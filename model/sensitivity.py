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

Speed: for each perturbed number only the one affected table is recomputed
(:func:`model.network.rebuild`) and the engine is refilled with it
(:meth:`model.engine.Engine.refill`: same structure, new numbers), so no
schedule is searched again. About 2 × 400 refills for the bundled model.

Sweeps over a vignette set live in :mod:`model.sweeps`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .checks import Interval, Options, check_ids, check_parameter
from .knowledge import BOOL_STATES, KnowledgeBase
from .network import rebuild
from .progress import bar

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .diagnosis import ModelCore

__all__ = [
    "Sensitivity",
    "sensitivity",
]

#: tables of parameters() that are numbers in the network (triage thresholds are not)
NETWORK_TABLES = ("context_prior", "context_risk_ratio", "condition_prior", "risk_ratio",
                  "likelihood", "leak")
_COLUMNS = (
    "parameter", "table", "node", "parent", "parent_state", "state", "value", "value_low",
    "value_high", "condition",
    "posterior", "posterior_low", "posterior_high", "swing", "derivative", "low", "high",
    "range_swing",
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
        ``node``, ``parent``, ``parent_state``, ``state``, ``value`` and the moved values
        ``value_low`` and
        ``value_high``; ``posterior`` and ``posterior_low`` / ``posterior_high`` at the moved
        values; ``swing`` = posterior_high − posterior_low; ``derivative`` = exact
        d posterior / d value (NaN for numbers equal to 0, which are not moved).
    """

    case: dict[str, Any]
    step: float
    table: pd.DataFrame

    def ranked(self, condition: str | None = None, n: int | None = 10, *,
               by: str = "swing") -> pd.DataFrame:
        """The numbers that move ``condition``'s posterior most (all conditions if None).

        Ranked by ``|swing|``, the change of the posterior between the low and the
        high value (``by="swing"``), or by ``|range_swing|``, the linearised change over
        the number's plausible range (``by="range_swing"``: what drives its interval).
        """
        check_parameter("Sensitivity.ranked", "by", by, Options(("swing", "range_swing")))
        rows = self.table if condition is None else self.table[self.table.condition == condition]
        if condition is not None and rows.empty:
            check_ids("Sensitivity.ranked", "condition", [condition], self.table.condition,
                      "condition")
        order = rows[by].abs().sort_values(ascending=False, kind="stable").index
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
        "risk_ratio": f"risk ratio of {node} for {parent} = {rec['parent_state']}",
        "context_risk_ratio": f"risk ratio of {node} for {parent} = {rec['parent_state']}",
        "likelihood": f"P({node} | {parent})",
        "leak": f"leak of {node}",
    }[table]


def _upper(kb: KnowledgeBase, rec: Mapping[str, Any]) -> float:
    """The largest value the loader accepts for this number, others fixed."""
    table, node = rec["table"], rec["node"]
    if table in ("likelihood", "leak") or (
            table == "context_prior" and node not in kb.context_risk_ratios):
        return 1.0
    context = table in ("context_prior", "context_risk_ratio")
    ratios = kb.context_risk_ratios[node] if context else kb.risk_ratios[node]
    if table in ("context_prior", "condition_prior"):
        return 1.0 / math.prod(max([1.0, *r.values()]) for r in ratios.values())
    others = math.prod(max([1.0, *r.values()]) for p, r in ratios.items() if p != rec["parent"])
    base = kb.context_priors[node]["yes"] if context else kb.baselines[node]
    return 1.0 / (base * others)


def _edited(kb: KnowledgeBase, rec: Mapping[str, Any], value: float) -> KnowledgeBase:
    """``kb`` with one number replaced (the records table follows)."""
    table, node, parent = rec["table"], rec["node"], rec["parent"]
    change: dict[str, Any] = {}
    if table == "context_prior":
        old = kb.context_priors[node]
        if kb.context_states[node] == BOOL_STATES:
            dist = {"no": 1.0 - value, "yes": value}
        else:  # proportional co-variation of the other states
            state = rec["state"]
            scale = (1.0 - value) / (1.0 - old[state])
            dist = {s: value if s == state else p * scale for s, p in old.items()}
        change["context_priors"] = {**kb.context_priors, node: dist}
    elif table == "condition_prior":
        change["baselines"] = {**kb.baselines, node: value}
    elif table in ("risk_ratio", "context_risk_ratio"):
        field = "risk_ratios" if table == "risk_ratio" else "context_risk_ratios"
        by_parent = dict(getattr(kb, field)[node])
        by_parent[parent] = {**by_parent[parent], rec["parent_state"]: value}
        change[field] = {**getattr(kb, field), node: by_parent}
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
    model: ModelCore,
    given: Mapping[str, Any],
    *,
    step: float = 0.1,
    conditions: Sequence[str] | None = None,
    tables: Iterable[str] = NETWORK_TABLES,
) -> Sensitivity:
    """Move every number of ``model`` by ±``step`` (relative) and record the posteriors.

    Parameters
    ----------
    model : ModelCore
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
    >>> from pathlib import Path
    >>> from model import Model
    >>> toy = Model.from_directory(Path("tests/toy_priors"))
    >>> s = sensitivity(toy, {"pain": True})
    >>> s.ranked("tendon", n=1).parameter[0]
    'baseline P(tendon)'
    """
    check_parameter("sensitivity", "step", step, Interval(float, 0, 1, "neither"))
    conds = check_ids("sensitivity", "conditions",
                      model.conditions if conditions is None else conditions, model.conditions,
                      "condition")
    tables = tuple(check_ids("sensitivity", "tables", tables, NETWORK_TABLES, "table"))
    cols = [model.conditions.index(c) for c in conds]
    case = model.vocabulary.validate(given)
    context, findings = model.encoding.encode([case])
    kb = model.knowledge
    params = kb.records[kb.records.table.isin(tables)]
    f0 = model.infer(context, findings)[0, cols]
    engine = model.engine
    out: list[dict[str, Any]] = []
    with bar(len(params), "sensitivity", " numbers", minimum=50) as shown:
        for row, rec in params.iterrows():
            rec = {**rec.to_dict(), "_row": row}
            node, value = rec["node"], float(rec["value"])
            delta = min(step * value, 0.5 * (_upper(kb, rec) - value))
            ends = []
            for moved in (value - delta, value + delta):
                if delta <= 0:
                    ends.append(f0)
                    continue
                moved_tables = rebuild(model.tables, _edited(kb, rec, moved), node)
                ends.append(engine.refill(moved_tables).posteriors(context, findings)[0, cols])
            lo, hi = ends
            deriv = (_harmonic_derivative(f0, lo, hi, delta) if delta > 0
                     else np.full(len(cols), np.nan))
            label = _label(rec)
            for k, cond in enumerate(conds):
                out.append({
                    "parameter": label, "table": rec["table"], "node": rec["node"],
                    "parent": rec["parent"], "parent_state": rec["parent_state"],
                    "state": rec["state"], "value": value,
                    "value_low": value - delta, "value_high": value + delta, "condition": cond,
                    "posterior": f0[k], "posterior_low": lo[k], "posterior_high": hi[k],
                    "swing": hi[k] - lo[k], "derivative": deriv[k], "low": rec["low"],
                    "high": rec["high"], "range_swing": deriv[k] * (rec["high"] - rec["low"]),
                })
            shown.update(1)
    return Sensitivity(case, step, pd.DataFrame(out, columns=list(_COLUMNS)))


