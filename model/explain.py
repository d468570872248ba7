"""Why a condition ranks where it does: what each given finding did to its odds.

For a condition c, let v(S) = logit P(c | context, findings S) (natural log-odds)
for any subset S of the given findings. The total to explain is

    v(all findings) − v(no findings),

the change of c's log-odds from the context-only prior (who the patient is:
age, sex, sports...) to the final posterior.

``method="sequential"`` adds the findings one at a time in the order given and
credits each with the change it makes: the contributions telescope, so they sum
exactly to the total. But they depend on the order (two findings that point to
the same condition share the credit differently when swapped).

``method="shapley"`` averages the sequential contributions over all k! orders,
which needs v(S) for all 2^k subsets (one batched inference call). The result
does not depend on the order, and it still sums exactly to the total
(Shapley's efficiency property). ``"auto"`` uses Shapley up to ``max_shapley``
findings (2^10 = 1024 rows), sequential beyond.

Every v(S) is an exact posterior, so every contribution is exact; only the
rounding of floating point separates the sum from the total (about 1e-12).
A condition whose posterior is exactly 0 or 1 (infinite log-odds) has no
decomposition; its contributions are NaN.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .checks import Interval, Options, check_ids, check_parameter

if TYPE_CHECKING:
    from .diagnosis import ModelCore

__all__ = ["ConditionExplanation", "Contribution", "Explanation", "explain"]


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one given finding did to one condition's log-odds."""

    id: str
    meaning: str
    value: bool
    log_odds: float

    @property
    def odds_ratio(self) -> float:
        """exp(log_odds): the factor by which this finding multiplied the odds."""
        return math.exp(self.log_odds)

    def __str__(self) -> str:
        verb = "raised" if self.log_odds > 0 else "lowered" if self.log_odds < 0 else "left"
        answer = "yes" if self.value else "no"
        return (f"{self.meaning} ({answer}) {verb} the odds ×{self.odds_ratio:.3g} "
                f"(log-odds {self.log_odds:+.3f})")


@dataclass(frozen=True, slots=True)
class ConditionExplanation:
    """The decomposition of one condition's posterior.

    Attributes
    ----------
    condition, meaning : str
    population_prior : float
        P(condition) with nothing given.
    prior : float
        P(condition | context only): where the findings start from.
    posterior : float
        P(condition | context and findings).
    contributions : tuple of Contribution
        One per given finding, largest effect first; their ``log_odds`` sum to
        :attr:`total_log_odds`.
    method : str
        ``"shapley"`` or ``"sequential"``.
    """

    condition: str
    meaning: str
    population_prior: float
    prior: float
    posterior: float
    contributions: tuple[Contribution, ...]
    method: str

    @property
    def total_log_odds(self) -> float:
        """logit(posterior) − logit(prior): what the contributions add up to."""
        return float(_logit(self.posterior) - _logit(self.prior))

    def __str__(self) -> str:
        lines = [
            f"{self.meaning} [{self.condition}]: {_pct(self.prior)} from the context alone "
            f"(population {_pct(self.population_prior)}), {_pct(self.posterior)} after the "
            f"findings (log-odds {self.total_log_odds:+.3f}, {self.method}):"
        ]
        lines += [f"  {c}" for c in self.contributions] or ["  (no findings given)"]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Explanation:
    """Explanations of the top conditions of one case (iterate, or index by id)."""

    conditions: tuple[ConditionExplanation, ...]
    given: dict[str, Any]

    def __iter__(self) -> Iterator[ConditionExplanation]:
        return iter(self.conditions)

    def __len__(self) -> int:
        return len(self.conditions)

    def __getitem__(self, condition: str) -> ConditionExplanation:
        for item in self.conditions:
            if item.condition == condition:
                return item
        raise KeyError(condition)

    def __str__(self) -> str:
        return "\n\n".join(str(c) for c in self.conditions)

    def __repr__(self) -> str:
        inner = ", ".join(f"{c.condition} {c.prior:.3g}→{c.posterior:.3g}" for c in self)
        return f"Explanation({inner})"

    def _repr_html_(self) -> str:
        parts = []
        for c in self.conditions:
            rows = "".join(
                f"<tr><td>{html.escape(k.meaning)}</td><td>{'yes' if k.value else 'no'}</td>"
                f"<td style='text-align:right'>{k.log_odds:+.3f}</td>"
                f"<td style='text-align:right'>×{k.odds_ratio:.3g}</td>"
                f"<td><div style='background:{'#55a868' if k.log_odds > 0 else '#c44e52'};"
                f"height:0.8em;width:{min(120, 20 * abs(k.log_odds)):.0f}px'></div></td></tr>"
                for k in c.contributions
            )
            parts.append(
                f"<p><b>{html.escape(c.meaning)}</b>: {_pct(c.prior)} from the context alone → "
                f"{_pct(c.posterior)} after the findings ({c.method})</p>"
                "<table><tr><th>finding</th><th>answer</th><th>log-odds</th><th>odds</th>"
                f"<th></th></tr>{rows}</table>"
            )
        return "<div>" + "".join(parts) + "</div>"


def _logit(p: float | np.ndarray) -> Any:
    with np.errstate(divide="ignore"):
        return np.log(p) - np.log1p(-np.asarray(p))


def _pct(p: float) -> str:
    return f"{100 * p:.3g}%"


def _shapley(values: np.ndarray, k: int) -> np.ndarray:
    """Shapley values of k players; ``values[mask]`` is v(subset) (bit i = player i)."""
    weight = [math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k) for s in range(k)]
    phi = np.zeros((k, *values.shape[1:]))
    for mask in range(2**k):
        size = bin(mask).count("1")
        for i in range(k):
            if not mask >> i & 1:
                phi[i] += weight[size] * (values[mask | 1 << i] - values[mask])
    return phi


def explain(
    model: ModelCore,
    given: Mapping[str, Any],
    conditions: Sequence[str] | None = None,
    *,
    method: str = "auto",
    max_shapley: int = 10,
) -> Explanation:
    """Decompose each condition's change of log-odds into one part per given finding.

    Parameters
    ----------
    model : ModelCore
    given : mapping of id to value
        The case, as for :func:`model.diagnose` (validated here). Its findings are
        explained; its context items set the starting prior.
    conditions : sequence of str, optional
        Conditions to explain (an other cause may be named); the three most probable
        diagnoses by default.
    method : {"auto", "shapley", "sequential"}
        See the module docstring. ``"sequential"`` adds findings in the order of
        ``given``.
    max_shapley : int, default 10
        ``"auto"`` uses Shapley values up to this many findings.

    Returns
    -------
    Explanation
        One :class:`ConditionExplanation` per condition, in the order asked (or
        most probable first).

    Examples
    --------
    >>> from model import Model
    >>> case = {"age_years": 41, "sex": "male", "racquet_sport": True,
    ...         "pain_heel_back": True, "morning_first_step_pain": True}
    >>> ex = explain(Model.default(), case, ["achilles_tendinopathy"])
    >>> item = ex["achilles_tendinopathy"]
    >>> abs(sum(c.log_odds for c in item.contributions) - item.total_log_odds) < 1e-9
    True
    """
    check_parameter("explain", "method", method, Options(("auto", "shapley", "sequential")))
    check_parameter("explain", "max_shapley", max_shapley, Interval(int, 0, 16))
    case = model.vocabulary.validate(given)
    found = [f for f in case if f in model.findings]
    context_only = {k: v for k, v in case.items() if k not in model.findings}
    k = len(found)
    use = ("shapley" if k <= max_shapley else "sequential") if method == "auto" else method
    if use == "shapley":
        subsets = [[found[i] for i in range(k) if mask >> i & 1] for mask in range(2**k)]
    else:
        subsets = [found[:i] for i in range(k + 1)]
    rows = [{}] + [{**context_only, **{f: case[f] for f in s}} for s in subsets]
    probs = model.infer(*model.encoding.encode(rows))
    population, by_subset = probs[0], probs[1:]

    if conditions is None:  # the top three diagnoses (never an other cause)
        top = np.argsort(-by_subset[-1, model.diagnosis_columns], kind="stable")[:3]
        conditions = [model.diagnoses[j] for j in top]
    conditions = check_ids("explain", "conditions", conditions, model.conditions, "condition")
    cols = [model.conditions.index(c) for c in conditions]
    logits = _logit(by_subset[:, cols])
    with np.errstate(invalid="ignore"):
        if use == "shapley":
            parts = _shapley(logits, k) if k else np.zeros((0, len(cols)))
        else:
            parts = np.diff(logits, axis=0)

    out = []
    for n, (cond, j) in enumerate(zip(conditions, cols, strict=True)):
        contributions = [
            Contribution(f, model.vocabulary[f].meaning, bool(case[f]), float(parts[i, n]))
            for i, f in enumerate(found)
        ]
        contributions.sort(key=lambda c: -abs(c.log_odds) if math.isfinite(c.log_odds) else 0)
        out.append(ConditionExplanation(
            cond, model.vocabulary[cond].meaning, float(population[j]),
            float(by_subset[0, j]), float(by_subset[-1, j]), tuple(contributions), use,
        ))
    return Explanation(tuple(out), case)

