"""Population figures recomputed from the model: the rate of a condition in a group of
people, the share of a condition's cases with a context state, and P(condition |
another condition). Used by tests/test_derivations.py to check that every derivation
in priors/ states what the model actually gives.

Rates over a group are exact: P(c | group) = Σ_v P(c | v) P(v) / Σ_v P(v) over the
group's age bands (and other given context), with P(v) from the engine's own
P(evidence); P(c1 | c2) comes from pgmpy's VariableElimination on ``network(compact=True)``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping

import numpy as np

from model import Model

Given = Mapping[str, object]


class Population:
    """Queries of population figures on one model."""

    def __init__(self, model: Model) -> None:
        self.model = model

    def _bands(self, ages: tuple[int, int] | None) -> list[tuple[str, int, int]]:
        bands = self.model.knowledge.age_bands
        if ages is None:
            return list(bands)
        lo, hi = ages
        chosen = [b for b in bands if b[1] >= lo and b[2] <= hi]
        covered = sum(b[2] - b[1] + 1 for b in chosen)
        if covered != hi - lo + 1:
            raise ValueError(f"ages {lo}-{hi} do not fall on age band boundaries")
        return chosen

    def _cases(self, ages: tuple[int, int] | None, given: Given) -> list[dict[str, object]]:
        if ages is None and "age_years" in given:
            return [dict(given)]
        return [{**given, "age_years": lo} for _, lo, _ in self._bands(ages)]

    def rate(self, condition: str, ages: tuple[int, int] | None = None, **given: object) -> float:
        """P(condition) among people of the given ages (whole years, inclusive) and context."""
        cases = [self.model.vocabulary.validate(c) for c in self._cases(ages, given)]
        context, findings = self.model.encoding.encode(cases)
        p = self.model.infer(context, findings)[:, self.model.conditions.index(condition)]
        weight = np.exp(self.model.log_evidence(context, findings))
        return float((p * weight).sum() / weight.sum())

    def weight(self, ages: tuple[int, int] | None = None, **given: object) -> float:
        """P(ages, context): the share of the population in the group."""
        cases = [self.model.vocabulary.validate(c) for c in self._cases(ages, given)]
        return float(np.exp(self.model.log_evidence(*self.model.encoding.encode(cases))).sum())

    def share(self, condition: str, ages: tuple[int, int] | None = None, **given: object) -> float:
        """P(group | condition): the share of the condition's cases that are in the group."""
        inside = self.rate(condition, ages, **given) * self.weight(ages, **given)
        return inside / self.rate(condition)

    def ratio(self, condition: str, ages: tuple[int, int] | None = None, **given: object) -> float:
        """P(condition | group) / P(condition): how much likelier the group is to have it."""
        return self.rate(condition, ages, **given) / self.rate(condition)

    def context_rate(self, node: str, ages: tuple[int, int] | None = None,
                     **given: object) -> float:
        """P(node = yes) among people of the given ages and context (a yes/no context node)."""
        return self.weight(ages, **given, **{node: True}) / self.weight(ages, **given)

    def given_condition(self, target: str, condition: str) -> float:
        """P(target = yes | condition = yes), both conditions (pgmpy VariableElimination)."""
        factor = _ve(self.model).query([target], evidence={condition: "yes"},
                                       show_progress=False)
        return float(factor.values[factor.state_names[target].index("yes")])

    def mean_age(self, condition: str) -> float:
        """Mean age of the condition's cases (ages evenly spread within each band; the last
        band taken to end at 90)."""
        total = 0.0
        for _, lo, hi in self._bands(None):
            mid = (lo + min(hi, 90)) / 2
            total += mid * self.share(condition, (lo, hi))
        return total


@functools.lru_cache(maxsize=4)
def _ve(model: Model):
    from pgmpy.inference import VariableElimination

    return VariableElimination(model.network(compact=True))


def close(got: float, want: float, tolerance: float) -> bool:
    """``got`` within ``tolerance`` (relative) of ``want``."""
    return math.isclose(got, want, rel_tol=tolerance)
