"""Triage: the most urgent level whose rule fires, and the red flags that drove it.

Rules live in ``priors/triage.csv``. A rule fires when all its findings are
reported present and, if it names a condition, that condition's posterior reaches
the rule's threshold. :meth:`TriageRules.fired` and :meth:`TriageRules.levels_of`
are vectorised over cases; only the wording of each case's red flags is put
together per case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .knowledge import TriageRule

__all__ = ["Triage", "TriageRules"]


@dataclass(frozen=True, slots=True)
class Triage:
    """Triage of one case: ``level`` and the ``red_flags`` behind it, most urgent first."""

    level: str
    red_flags: tuple[str, ...]


class TriageRules:
    """The triage rules, compiled against the order of findings and conditions.

    Parameters
    ----------
    rules : sequence of TriageRule
    levels : sequence of str
        Triage levels, most urgent first; the last one is the default.
    findings, conditions : sequence of str
        Column order of the arrays given to :meth:`fired`.
    """

    def __init__(
        self,
        rules: Sequence[TriageRule],
        levels: Sequence[str],
        findings: Sequence[str],
        conditions: Sequence[str],
    ) -> None:
        self.rules = tuple(rules)
        self.levels = tuple(levels)
        f_index = {f: i for i, f in enumerate(findings)}
        c_index = {c: i for i, c in enumerate(conditions)}
        self._findings = [np.array([f_index[f] for f in r.findings], dtype=int) for r in self.rules]
        self._condition = [c_index.get(r.condition, -1) for r in self.rules]
        self._level = np.array([self.levels.index(r.level) for r in self.rules], dtype=int)
        self.wordings = np.array([r.wording for r in self.rules], dtype=object)

    def fired(self, findings: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        """Boolean (n_cases, n_rules): which rules fire.

        ``findings`` is int (n_cases, n_findings) with 1 present, 0 absent, -1 not
        asked; ``probabilities`` is (n_cases, n_conditions).
        """
        n = findings.shape[0]
        out = np.ones((n, len(self.rules)), dtype=bool)
        for j, rule in enumerate(self.rules):
            if len(self._findings[j]):
                out[:, j] &= (findings[:, self._findings[j]] == 1).all(axis=1)
            if rule.condition is not None:
                out[:, j] &= probabilities[:, self._condition[j]] >= rule.threshold
        return out

    def levels_of(self, fired: np.ndarray) -> np.ndarray:
        """Index into ``levels`` (0 = most urgent) of each case's triage."""
        default = len(self.levels) - 1
        ranks = np.where(fired, self._level[None, :], default)
        return ranks.min(axis=1, initial=default)

    def red_flags(self, fired: np.ndarray) -> list[tuple[str, ...]]:
        """Per case, the wordings of its fired rules, most urgent first, without repeats.

        Cases share few distinct patterns of fired rules, so each pattern is worded once.
        """
        if not len(fired):
            return []
        order = np.argsort(self._level, kind="stable")  # most urgent rules first
        patterns, inverse = np.unique(fired, axis=0, return_inverse=True)
        worded = [tuple(dict.fromkeys(self.wordings[order][p[order]])) for p in patterns]
        return [worded[i] for i in inverse.reshape(-1)]

    def assess(self, findings: np.ndarray, probabilities: np.ndarray) -> list[Triage]:
        """Triage every case (one :class:`Triage` per row)."""
        fired = self.fired(findings, probabilities)
        ranks = self.levels_of(fired)
        return [Triage(self.levels[rank], flags)
                for rank, flags in zip(ranks, self.red_flags(fired), strict=True)]
