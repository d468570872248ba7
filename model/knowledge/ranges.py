"""The plausible range ``[low, high]`` of every number: given in its row, or from a rule.

A row of ``priors/`` may give its number's range in ``low`` and ``high`` (a
confidence interval from a study, a fitted posterior range); explicit values always
win. When both are blank the range comes from one rule, chosen by what the number
is and where its size comes from (``priors/README.md``, "Plausible ranges", says
the same in words):

========================  ===============================  =====================
the number                ``source_kind``                  range
========================  ===============================  =====================
probability (a context    ``literature``                   odds ×/÷ 1.5
prior, a baseline, a      ``seed``                         odds ×/÷ 2
link, a leak)             ``assumption``                   odds ×/÷ 3
risk ratio                ``literature``, ``seed``,        ratio ×/÷ 1.5, 2, 3
                          ``assumption``
a state of a many-state   any but ``data``                 odds ×/÷ 1.25
context node (age, sex)
anything                  ``data``                         must be given
triage threshold          any                              the threshold itself
========================  ===============================  =====================

"Odds ×/÷ F" keeps a probability inside (0, 1) and is ×/÷ F on the probability
itself when it is small (incidences, leaks), which is how such figures are
uncertain; a probability of exactly 0 or 1 keeps a range of that single value. The
range is read as the central 90 % of the number's uncertainty (see
:mod:`model.uncertainty` for the draws).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import PriorsError
from ..vocabulary import is_blank

__all__ = ["PROBABILITY_TABLES", "RATIO_TABLES", "RULES", "Rule", "resolve", "scaled"]

#: Tables whose numbers are probabilities (ranges in odds) and risk ratios (ranges as ratios).
PROBABILITY_TABLES = ("context_prior", "condition_prior", "likelihood", "leak")
RATIO_TABLES = ("risk_ratio", "context_risk_ratio")
#: The name the rule of a many-state context node's states goes by.
STRUCTURE = "structure"
THRESHOLD = "threshold"


@dataclass(frozen=True, slots=True)
class Rule:
    """A range rule: the number's odds (or ratio) divided and multiplied by ``factor``."""

    name: str
    factor: float
    why: str

    def label(self, table: str) -> str:
        """How ``parameters()`` names the rule in ``range_rule``, e.g. 'seed: odds ×/÷ 2'."""
        return f"{self.name}: {'ratio' if table in RATIO_TABLES else 'odds'} ×/÷ {self.factor:g}"


#: The rules, by ``source_kind`` (and :data:`STRUCTURE` for many-state context nodes).
RULES: dict[str, Rule] = {
    "literature": Rule("literature", 1.5,
                       "a study's figure without its interval in the row: a typical 95% "
                       "interval of an incidence or a sensitivity, widened for carrying the "
                       "figure to another population"),
    "seed": Rule("seed", 2.0,
                 "a size read from the seed text: a figure it quotes from one study, or a "
                 "frequency word read through a verbal-probability scale, whose readers "
                 "differ by about a factor of 2 in odds"),
    "assumption": Rule("assumption", 3.0,
                       "a stated assumption: deliberately wide, a factor of 3 either way"),
    STRUCTURE: Rule("population structure", 1.25,
                    "the age and sex make-up of a population is known from its census; a "
                    "practice's list may differ by a quarter either way"),
}


def scaled(value: float, factor: float, table: str) -> tuple[float, float]:
    """``value`` with its odds (probabilities) or itself (risk ratios) ÷ and × ``factor``.

    Examples
    --------
    >>> scaled(0.5, 3.0, "likelihood")
    (0.25, 0.75)
    >>> scaled(2.0, 3.0, "risk_ratio")
    (0.6666666666666666, 6.0)
    """
    if table in RATIO_TABLES:
        return value / factor, value * factor
    if value <= 0.0 or value >= 1.0:
        return value, value
    odds = value / (1.0 - value)
    return odds / (factor + odds), odds * factor / (1.0 + odds * factor)


def _bound(row: Mapping[str, Any], column: str) -> float | None:
    raw = row.get(column, "")
    if is_blank(raw):
        return None
    try:
        number = float(raw)
    except (TypeError, ValueError):
        raise PriorsError(f"{row['_where']}: {column} must be a number; got {raw!r}") from None
    if math.isnan(number):
        return None
    return number


def resolve(row: Mapping[str, Any], table: str, value: float, *, many_state: bool = False
            ) -> tuple[float, float, str]:
    """The range of one checked number: ``(low, high, rule)``, ``rule`` "" when given.

    Raises
    ------
    PriorsError
        When only one of low and high is given, when the value lies outside them, when
        they leave the number's natural limits, or for a ``data`` number without them.
    """
    where = row["_where"]
    low, high = _bound(row, "low"), _bound(row, "high")
    if (low is None) != (high is None):
        raise PriorsError(f"{where}: give both low and high, or neither (the rule of "
                          "priors/README.md then sets the range)")
    if table == "triage_rule":
        if low is None:
            return value, value, THRESHOLD if not math.isnan(value) else ""
        return low, high, ""  # type: ignore[return-value]
    kind = row.get("source_kind", "")
    if low is None or high is None:
        if kind == "data":
            raise PriorsError(f"{where}: a 'data' number needs its low and high (the fit "
                              "writes them)")
        rule = RULES[STRUCTURE if many_state else kind]
        low, high = scaled(value, rule.factor, table)
        return low, high, rule.label(table)
    top = 1.0 if table in PROBABILITY_TABLES else math.inf
    if not (0.0 <= low <= high <= top) or high == math.inf:
        limit = "from 0 to 1" if top == 1.0 else "0 or more (and finite)"
        raise PriorsError(f"{where}: low and high must be {limit}, low <= high; "
                          f"got low {low:g}, high {high:g}")
    if (0.0 < value < top) and not (low > 0.0 and high < top):
        raise PriorsError(f"{where}: a range must stay inside (0, {top:g}) around a value "
                          f"inside it (ranges and the fit work on the log-odds or log "
                          f"scale, where 0 and 1 are infinitely far); got low {low:g}, "
                          f"high {high:g}")
    if not (low <= value <= high):
        raise PriorsError(f"{where}: the value {value:g} lies outside its range "
                          f"[{low:g}, {high:g}]; widen low and high, or clear both to use "
                          "the rule of priors/README.md")
    return low, high, ""
