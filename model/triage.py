"""Triage: the most urgent level whose rule fires, and the red flags that drove it.

Rules live in ``priors/triage.csv``. A rule fires when all its findings are
reported present, its context items are known to be in the given states (diabetes
answered yes, an age band of childhood) and, if it names a condition, that
condition's posterior reaches the rule's threshold. A context item that was not
given never satisfies a rule, as a finding not asked never does. :meth:`TriageRules.fired`
and :meth:`TriageRules.levels_of` are vectorised over cases; only the wording of each case's
red flags is put together per case.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    context : mapping of str to sequence of str, optional
        Context node -> its state names, in the column order of the ``context`` array
        given to :meth:`fired` (needed when a rule names context).
    """

    def __init__(
        self,
        rules: Sequence[TriageRule],
        levels: Sequence[str],
        findings: Sequence[str],
        conditions: Sequence[str],
        context: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.rules = tuple(rules)
        self.levels = tuple(levels)
        f_index = {f: i for i, f in enumerate(findings)}
        c_index = {c: i for i, c in enumerate(conditions)}
        states = {x: list(s) for x, s in (context or {}).items()}
        x_index = {x: i for i, x in enumerate(states)}
        n_rules = len(self.rules)
        # findings: rule -> needed findings, as an incidence matrix counted by a product
        self._needs = np.zeros((len(f_index), n_rules), dtype=np.int32)
        for j, r in enumerate(self.rules):
            self._needs[[f_index[f] for f in r.findings], j] = 1
        self._needed = self._needs.sum(axis=0)
        # context: per constrained column, a (states + 1, rules) table of "allowed"; its
        # last row is for -1 (not given), allowed only by rules that do not ask for it
        self._allowed: dict[int, np.ndarray] = {}
        for j, r in enumerate(self.rules):
            for node, accepted in r.context:
                column = x_index[node]
                if column not in self._allowed:
                    self._allowed[column] = np.ones((len(states[node]) + 1, n_rules), dtype=bool)
                table = self._allowed[column]
                table[:, j] = False
                table[[states[node].index(a) for a in accepted], j] = True
        # posterior thresholds
        self._with_condition = np.array([r.condition is not None for r in self.rules], dtype=bool)
        self._condition = np.array([c_index.get(r.condition, 0) for r in self.rules], dtype=int)
        self._threshold = np.array([r.threshold if r.threshold is not None else 0.0
                                    for r in self.rules])
        self._level = np.array([self.levels.index(r.level) for r in self.rules], dtype=int)
        self.wordings = np.array([r.wording for r in self.rules], dtype=object)

    def fired(self, findings: np.ndarray, probabilities: np.ndarray,
              context: np.ndarray | None = None) -> np.ndarray:
        """Boolean (n_cases, n_rules): which rules fire.

        ``findings`` is int (n_cases, n_findings) with 1 present, 0 absent, -1 not
        asked; ``probabilities`` is (n_cases, n_conditions); ``context`` is int
        (n_cases, n_context) with a state index per node and -1 unknown. Without
        ``context``, every context item counts as unknown.
        """
        present = (np.asarray(findings) == 1).astype(np.int32)
        out = present @ self._needs == self._needed[None, :]
        probabilities = np.asarray(probabilities)
        reached = probabilities[:, self._condition] >= self._threshold[None, :]
        out &= reached | ~self._with_condition[None, :]
        for column, table in self._allowed.items():
            if context is None:
                out &= table[-1][None, :]
            else:
                out &= table[np.asarray(context)[:, column]]  # -1 reads the last row
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
        if len(fired) == 1:
            return [tuple(dict.fromkeys(self.wordings[order][fired[0][order]]))]
        patterns, inverse = np.unique(fired, axis=0, return_inverse=True)
        worded = [tuple(dict.fromkeys(self.wordings[order][p[order]])) for p in patterns]
        return [worded[i] for i in inverse.reshape(-1)]

    def assess(self, findings: np.ndarray, probabilities: np.ndarray,
               context: np.ndarray | None = None) -> list[Triage]:
        """Triage every case (one :class:`Triage` per row); arrays as in :meth:`fired`."""
        fired = self.fired(findings, probabilities, context)
        ranks = self.levels_of(fired)
        return [Triage(self.levels[rank], flags)
                for rank, flags in zip(ranks, self.red_flags(fired), strict=True)]
