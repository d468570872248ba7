"""The core of the model: one knowledge base with its encoding, inference and triage.

:class:`ModelCore` ties a checked knowledge base to its encoding, its tables, its
compiled inference engine and its triage rules, and diagnoses: validate, encode,
infer, triage, wrap in a :class:`Diagnosis`. It is what every tool (scoring,
explanations, sensitivity, the interview...) builds on; users hold a
:class:`model.Model`, which is this core plus those tools as methods.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd

from .encoding import Encoding
from .engine import Engine
from .knowledge import KnowledgeBase, from_parameters, load_priors
from .network import NetworkTables, build
from .triage import TriageRules
from .uncertainty import DRAWS, SEED, posterior_intervals
from .vocabulary import Value, Vocabulary

if TYPE_CHECKING:
    from pgmpy.models import DiscreteBayesianNetwork

__all__ = ["Diagnosis", "ModelCore"]

M = TypeVar("M", bound="ModelCore")


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """The result of :func:`model.diagnose`: probabilities, never a verdict.

    Attributes
    ----------
    ranked : tuple of (condition_id, probability)
        All conditions, most probable first.
    probabilities : dict
        P(condition present | findings) for every condition.
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
        90 % interval of each posterior over the numbers' plausible ranges (see
        :mod:`model.uncertainty`); None when not asked.
    """

    ranked: tuple[tuple[str, float], ...]
    probabilities: dict[str, float]
    triage: str
    red_flags: tuple[str, ...]
    findings: dict[str, Value]
    model: ModelCore = field(repr=False, compare=False)
    intervals: dict[str, tuple[float, float]] | None = None

    def top(self, n: int = 3) -> tuple[tuple[str, float], ...]:
        """The ``n`` most probable conditions."""
        return self.ranked[:n]

    def _range(self, condition: str, fmt: str = ".3f") -> str:
        if self.intervals is None:
            return ""
        low, high = self.intervals[condition]
        return f" ({low:{fmt}}-{high:{fmt}})"

    def __repr__(self) -> str:
        top = ", ".join(f"{c} {p:.3f}{self._range(c)}" for c, p in self.ranked[:3])
        flags = "; ".join(self.red_flags) or "none"
        return f"Diagnosis(top=[{top}], triage='{self.triage}', red_flags=[{flags}])"

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
        head = "<th>90% range</th>" if shown else ""
        note = ("90% range: how far each probability moves over the plausible ranges of the "
                "model's numbers (see .interval_drivers()). " if shown else "")
        return (
            f"<div><b>Triage:</b> {html.escape(self.triage)}<br><b>Red flags:</b><ul>{flags}</ul>"
            f"<table><tr><th>condition</th><th>P(present)</th>{head}<th></th></tr>{rows}</table>"
            f"<small>{note}Research and teaching model: probabilities, not a diagnosis."
            "</small></div>"
        )


class ModelCore:
    """A knowledge base with its encoding, tables, inference engine and triage rules.

    Parameters
    ----------
    knowledge : KnowledgeBase
        A checked knowledge base (see :func:`model.knowledge.load_priors`).

    Attributes
    ----------
    knowledge : KnowledgeBase
    vocabulary : Vocabulary
    encoding : Encoding
        Node order and state codes (the columns of every engine array).
    conditions, findings, context_nodes : tuple of str
    triage_rules : TriageRules
    """

    #: The class of the results :meth:`diagnose` returns.
    _result: type[Diagnosis] = Diagnosis

    def __init__(self, knowledge: KnowledgeBase) -> None:
        self.knowledge = knowledge
        self.vocabulary: Vocabulary = knowledge.vocabulary
        self.encoding = Encoding.of(knowledge)
        self.conditions = self.encoding.conditions
        self.findings = self.encoding.findings
        self.context_nodes = self.encoding.context
        self.triage_rules = TriageRules(
            knowledge.triage_rules, self.vocabulary.triage_levels, self.findings, self.conditions
        )

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle the knowledge base only (for Dask workers): the receiver rebuilds the
        encoding, tables and engine from it, reading the engine's structure from its
        caches, so no compiled code or pgmpy network travels."""
        return type(self), (self.knowledge,)

    # construction -----------------------------------------------------------
    @classmethod
    def default(cls: type[M]) -> M:
        """The model built from the bundled ``priors/`` (built once, then cached)."""
        return _default(cls)

    @classmethod
    def from_directory(cls: type[M], directory: str | Path) -> M:
        """Build a model from a folder laid out like ``priors/``."""
        return cls(load_priors(directory))

    @classmethod
    def from_parameters(cls: type[M], table: pd.DataFrame,
                        vocabulary: Vocabulary | None = None) -> M:
        """Build a model from an edited copy of :meth:`parameters`, checked like the files."""
        vocab = vocabulary or cls.default().vocabulary
        return cls(from_parameters(table, vocab))

    # the network --------------------------------------------------------------
    @functools.cached_property
    def tables(self) -> NetworkTables:
        """Every table of the network as arrays (see :mod:`model.network`)."""
        return build(self.knowledge, self.encoding)

    @functools.cached_property
    def _pgmpy(self) -> DiscreteBayesianNetwork:
        return self.tables.to_pgmpy()

    def network(self) -> DiscreteBayesianNetwork:
        """A copy of the pgmpy network behind :meth:`diagnose` (safe to modify)."""
        return self._pgmpy.copy()

    def parameters(self) -> pd.DataFrame:
        """One row per number in the model, with its source (a copy: edit freely)."""
        return self.knowledge.parameters()

    def evidence(self, findings: Mapping[str, Any]) -> dict[str, str]:
        """The pgmpy evidence dict that :meth:`diagnose` conditions on."""
        return self.encoding.evidence(self.vocabulary.validate(findings))

    # inference ----------------------------------------------------------------
    @functools.cached_property
    def engine(self) -> Engine:
        """The network compiled for exact batch inference (see :mod:`model.engine`)."""
        return Engine(self.tables)

    def infer(self, context: np.ndarray, findings: np.ndarray) -> np.ndarray:
        """Exact P(condition present | evidence) for many encoded cases at once.

        Parameters
        ----------
        context : int array (n_cases, n_context_nodes)
            State index of each context node (order ``context_nodes``), -1 unknown.
        findings : int array (n_cases, n_findings)
            1 present, 0 absent, -1 not asked (order ``findings``).

        Returns
        -------
        ndarray (n_cases, n_conditions), columns in ``conditions`` order.
        """
        return self.engine.posteriors(context, findings)

    def log_evidence(self, context: np.ndarray, findings: np.ndarray) -> np.ndarray:
        """Natural log of P(evidence) for each encoded case (arrays as in :meth:`infer`)."""
        return self.engine.log_evidence(context, findings)

    def posteriors(self, cases: list[dict[str, Value]]) -> np.ndarray:
        """P(condition present | case) for validated cases: (n_cases, n_conditions)."""
        return self.infer(*self.encoding.encode(cases))

    # diagnosis ----------------------------------------------------------------
    def diagnose(self, findings: Mapping[str, Any], intervals: bool = False, *,
                 draws: int = DRAWS, seed: int = SEED) -> Diagnosis:
        """Rank the conditions and triage one case; see :func:`model.diagnose`."""
        given = self.vocabulary.validate(findings)
        context, coded = self.encoding.encode([given])
        probs = self.infer(context, coded)
        triage = self.triage_rules.assess(coded, probs)[0]
        ranges = None
        if intervals:
            low, high = posterior_intervals(self, context, coded, draws=draws, seed=seed)
            ranges = {c: (float(low[0, j]), float(high[0, j]))
                      for j, c in enumerate(self.conditions)}
        return self._wrap(given, probs[0], triage.level, triage.red_flags, ranges)

    def _wrap(self, given: dict[str, Value], probs: np.ndarray, level: str,
              flags: tuple[str, ...], intervals: dict[str, tuple[float, float]] | None = None
              ) -> Diagnosis:
        order = sorted(range(len(self.conditions)), key=lambda j: -probs[j])
        ranked = tuple((self.conditions[j], float(probs[j])) for j in order)
        probabilities = {c: float(p) for c, p in zip(self.conditions, probs, strict=True)}
        return self._result(ranked, probabilities, level, flags, given, self, intervals)


@functools.cache
def _default(cls: type[M]) -> M:
    return cls(load_priors())
