"""Sweeps: a vignette set scored under a series of edited parameter tables.

:func:`sweep` scores a set of cases (top-1, top-3, under- and over-triage) under
a series of edited parameter tables, for example :func:`scale_baseline` (a
condition's baseline from half to double) or :func:`widen_age_window` (a
condition's age window widened by whole years, done by splitting the neighbouring
age bands; see its docstring for why that is the honest way).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

from .checks import Interval, check_ids, check_parameter
from .knowledge import AGE_NODE
from .metrics import summarise
from .scoring import score

if TYPE_CHECKING:
    from .diagnosis import ModelCore

__all__ = ["scale_baseline", "split_age_band", "sweep", "widen_age_window"]


def scale_baseline(table: pd.DataFrame, condition: str, factor: float) -> pd.DataFrame:
    """A copy of ``table`` with ``condition``'s baseline multiplied by ``factor``.

    The risk ratios stay, so the condition's prior moves by ``factor`` in every
    context (the loader rejects a factor that would push a prior above 1).
    """
    out = table.copy()
    row = (out.table == "condition_prior") & (out.node == condition)
    if row.sum() != 1:
        check_ids("scale_baseline", "condition", [condition],
                  table.loc[table.table == "condition_prior", "node"], "condition")
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
    as evenly spread within a band), every risk ratio given for the old band (of a
    condition or of a context node) is given, unchanged, for both new ones, and a
    triage rule that names the old band names both. So the model is the same for every
    case; the split only lets a later edit treat the new band differently. A band
    already starting at ``at`` is left alone.
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
        elif (rec.table in ("risk_ratio", "context_risk_ratio") and rec.parent == AGE_NODE
              and rec.parent_state == old):
            for state in (first, second):
                pieces.append({**rec, "parent_state": state, "parents": f"{AGE_NODE} = {state}",
                               "derivation": f"{rec.derivation}{note}"})
        elif rec.table == "triage_rule" and isinstance(rec.get("context"), str):
            pieces.append({**rec, "context": re.sub(rf"\b{old}\b", f"{first}|{second}",
                                                    rec.context)})
        else:
            pieces.append(rec.to_dict())
    return pd.DataFrame(pieces, columns=table.columns).reset_index(drop=True)


def widen_age_window(table: pd.DataFrame, condition: str, years: int) -> pd.DataFrame:
    """A copy of ``table`` with ``condition``'s age window widened by ``years`` each side.

    The window is the run of age bands where the condition's age risk ratio is
    highest (the reference band, with no row, counts as 1). The bands are coarse
    (Sever's disease: the window is ``age_8_14``, its neighbours ``age_0_7`` and
    ``age_15_19``), so raising a whole neighbouring band's ratio would put every
    child under 8 in the window, and averaging the ratio over the band would give
    a 7-year-old only 1/8 of the change. Instead the neighbouring bands are split
    (:func:`split_age_band`) so that the ``years`` next to the window become bands
    of their own, and those get the window's risk ratio. The baseline is not
    changed: the rate inside the old window stays, the all-ages incidence rises a
    little.
    """
    check_parameter("widen_age_window", "years", years, Interval(int, 0, None))
    if years == 0:
        return table.copy()

    def ratios(t: pd.DataFrame) -> dict[str, float]:
        rows = t[(t.table == "risk_ratio") & (t.node == condition) & (t.parent == AGE_NODE)]
        given = dict(zip(rows.parent_state, rows.value.astype(float), strict=True))
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
               & (out.parent == AGE_NODE) & (out.parent_state == state))
        out.loc[row, "value"] = top
        out.loc[row, "derivation"] = out.loc[row, "derivation"].astype(str) + (
            f"; window widened by {years} year(s): set to the window's ratio {top:g}")
    return out


def _rates(model: ModelCore, cases: pd.DataFrame) -> dict[str, float]:
    """Top-1 and top-3 accuracy and the under-/over-triage rates of ``model`` on vignettes."""
    extra = [c for c in cases.columns if c not in model.vocabulary
             and c not in ("case_id", "expected_condition", "expected_triage")]
    summary = summarise(score(cases, model, keep=extra), model.diagnoses,
                        model.triage_rules.levels, model.other_causes)
    triaged = summary.with_triage or math.nan
    return {
        "top1": summary.top1_accuracy,
        "top3": summary.top3_accuracy,
        "under_triage": summary.under_triage / triaged,
        "over_triage": summary.over_triage / triaged,
        "n": float(summary.rows),
    }


def sweep(
    model: ModelCore,
    cases: pd.DataFrame,
    edit: Callable[[pd.DataFrame, Any], pd.DataFrame],
    values: Iterable[Hashable],
) -> pd.DataFrame:
    """Score ``cases`` under a series of edits of ``model``'s parameter table.

    Parameters
    ----------
    model : ModelCore
        The starting model.
    cases : DataFrame
        Vignettes: vocabulary ids as columns (blank = not asked), with
        ``expected_condition`` and ``expected_triage``; other columns are passed over.
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
        rows.append({"value": value, **_rates(variant, cases)})
    return pd.DataFrame(rows)
