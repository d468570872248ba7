"""What :func:`model.diagnose` returns: :class:`Diagnosis`, probabilities, never a verdict.

A frozen record of one case's posteriors (diagnoses ranked, other causes apart),
``p_none`` and ``p_no_diagnosis``, the triage and its reasons, with a text and an
HTML view. :class:`model.diagnosis.ModelCore` builds it; :class:`model.Model` returns
its subclass with the tools as methods.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .vocabulary import Value

if TYPE_CHECKING:
    from .diagnosis import ModelCore

__all__ = ["Diagnosis", "modelled", "no_diagnosis_label"]


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """The result of :func:`model.diagnose`: probabilities, never a verdict.

    Attributes
    ----------
    ranked : tuple of (condition_id, probability)
        Every diagnosis, most probable first (other causes are never ranked).
    probabilities : dict
        P(condition present | findings) for every diagnosis.
    triage : str
        ``"emergency"``, ``"see_doctor"`` or ``"self_care"``.
    red_flags : tuple of str
        The warning signs that drove the triage, in words, most urgent first.
    findings : dict
        What was given, after validation (not-asked items dropped).
    model : ModelCore
        The model that made it.
    intervals : dict or None
        With ``diagnose(..., intervals=True)``: ``{condition_id: (low, high)}``, the
        90 % interval of each posterior (diagnoses and other causes) over the numbers'
        plausible ranges (see :mod:`model.uncertainty`); None when not asked.
    p_none : float
        P(none of the modelled conditions is present | findings), other causes
        included: what is left for pain that the model does not explain. Conditions
        may be present together, so their probabilities need not sum to 1 - p_none.
    other_causes : dict
        P(cause present | findings) for every other cause (a condition of type
        ``other`` in the vocabulary: a cause of findings that is not a diagnosis);
        empty when the model has none. They are never in ``ranked``.
    p_no_diagnosis : float
        P(none of the diagnoses is present | findings): ``p_none`` plus the chance that
        only other causes are (equal to ``p_none`` when the model has none).
    """

    ranked: tuple[tuple[str, float], ...]
    probabilities: dict[str, float]
    triage: str
    red_flags: tuple[str, ...]
    findings: dict[str, Value]
    model: ModelCore = field(repr=False, compare=False)
    intervals: dict[str, tuple[float, float]] | None = None
    p_none: float = math.nan
    other_causes: dict[str, float] = field(default_factory=dict)
    p_no_diagnosis: float = math.nan

    def top(self, n: int = 3) -> tuple[tuple[str, float], ...]:
        """The ``n`` most probable diagnoses (never an other cause)."""
        return self.ranked[:n]

    def _range(self, condition: str, fmt: str = ".3f") -> str:
        if self.intervals is None:
            return ""
        low, high = self.intervals[condition]
        return f" ({low:{fmt}}-{high:{fmt}})"

    def __repr__(self) -> str:
        top = ", ".join(f"{c} {p:.3f}{self._range(c)}" for c, p in self.ranked[:3])
        flags = "; ".join(self.red_flags) or "none"
        others = "".join(f", {c}={p:.3f}" for c, p in self.other_causes.items())
        return (f"Diagnosis(top=[{top}], p_none={self.p_none:.3f}{others}, "
                f"triage='{self.triage}', red_flags=[{flags}])")

    def _repr_html_(self) -> str:
        shown = self.intervals is not None
        rows = "".join(
            f"<tr><td>{html.escape(c)}</td><td>{p:.3f}</td>"
            + (f"<td>{self._range(c).strip(' ()')}</td>" if shown else "")
            + f"<td><div style='background:#4c72b0;height:0.8em;width:{100 * p:.0f}px'>"
            "</div></td></tr>"
            for c, p in self.ranked[:8]
        )
        flags = "".join(f"<li>{html.escape(f)}</li>" for f in self.red_flags) or "<li>none</li>"
        others = "".join(
            f"<tr><td><i>other cause: {html.escape(c)}</i></td><td>{p:.3f}</td>"
            + (f"<td>{self._range(c).strip(' ()')}</td>" if shown else "") + "<td></td></tr>"
            for c, p in self.other_causes.items()
        ) + _no_diagnosis_html(self, shown)
        head = "<th>90% range</th>" if shown else ""
        note = ("90% range: how far each probability moves over the plausible ranges of the "
                "model's numbers (see .interval_drivers()). " if shown else "")
        return (
            f"<div><b>Triage:</b> {html.escape(self.triage)}<br><b>Red flags:</b><ul>{flags}</ul>"
            f"<table><tr><th>condition</th><th>P(present)</th>{head}<th></th></tr>{rows}"
            f"{others}<tr><td><i>none of the {modelled(self)}</i></td>"
            f"<td>{self.p_none:.3f}</td>{'<td></td>' if shown else ''}<td></td></tr></table>"
            f"<small>{note}Research and teaching model: probabilities, not a diagnosis."
            "</small></div>"
        )


def _no_diagnosis_html(result: Diagnosis, shown: bool) -> str:
    """The table row of P(no diagnosis), when the model has other causes."""
    return (f"<tr><td><i>{html.escape(no_diagnosis_label(result))}</i></td>"
            f"<td>{result.p_no_diagnosis:.3f}</td>"
            f"{'<td></td>' * (1 + shown)}</tr>") if result.other_causes else ""


def no_diagnosis_label(result: Diagnosis) -> str:
    """What ``p_no_diagnosis`` is the chance of, in words (the CLI and the notebook view
    say it alike)."""
    return (f"none of the {len(result.probabilities)} modelled conditions (nothing, or only "
            "other causes)")


def modelled(result: Diagnosis) -> str:
    """``28 modelled conditions`` (``or 1 other cause`` when the model has some): what
    ``p_none`` is the chance of none of (the CLI and the notebook view say it alike)."""
    text = f"{len(result.probabilities)} modelled conditions"
    n = len(result.other_causes)
    return text + (f" or {n} other cause{'s' if n > 1 else ''}" if n else "")
