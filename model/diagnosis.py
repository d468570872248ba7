"""The diagnostic model object and ``diagnose()``: validate, infer, triage, wrap.

:class:`Model` ties one knowledge base to its network, its compiled inference
engine and its triage rules. The module-level functions in ``model`` use the
bundled knowledge base; researchers build their own with
:meth:`Model.from_parameters` or :meth:`Model.from_directory`.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pgmpy.models import DiscreteBayesianNetwork

from .engine import CompiledNetwork
from .knowledge import AGE_INPUT, AGE_NODE, KnowledgeBase, from_parameters, load_priors
from .network import build_network, to_evidence
from .triage import TriageRules
from .vocabulary import Value, Vocabulary

if TYPE_CHECKING:
    from .explain import Explanation
    from .questions import Question
    from .sensitivity import Sensitivity

__all__ = ["Diagnosis", "Model"]


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """The result of :func:`diagnose`: probabilities, never a verdict.

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
    """

    ranked: tuple[tuple[str, float], ...]
    probabilities: dict[str, float]
    triage: str
    red_flags: tuple[str, ...]
    findings: dict[str, Value]
    model: Model = field(repr=False, compare=False)

    def top(self, n: int = 3) -> tuple[tuple[str, float], ...]:
        """The ``n`` most probable conditions."""
        return self.ranked[:n]

    def explain(self, conditions: Sequence[str] | None = None, **options: Any) -> Explanation:
        """Which given findings raised or lowered each top condition, and by how much.

        See :func:`model.explain.explain`; the contributions add up exactly to the
        change of log-odds from the context-only prior to this posterior.
        """
        from .explain import explain

        return explain(self.model, self.findings, conditions, **options)

    def next_questions(self, n: int | None = 5) -> list[Question]:
        """The unasked items ranked by expected information gain about the conditions.

        See :func:`model.questions.next_questions`.
        """
        from .questions import next_questions

        return next_questions(self.model, self.findings, n)

    def __repr__(self) -> str:
        top = ", ".join(f"{c} {p:.3f}" for c, p in self.ranked[:3])
        flags = "; ".join(self.red_flags) or "none"
        return f"Diagnosis(top=[{top}], triage='{self.triage}', red_flags=[{flags}])"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(c)}</td><td>{p:.3f}</td>"
            f"<td><div style='background:#4c72b0;height:0.8em;width:{100 * p:.0f}px'>"
            "</div></td></tr>"
            for c, p in self.ranked[:8]
        )
        flags = "".join(f"<li>{html.escape(f)}</li>" for f in self.red_flags) or "<li>none</li>"
        why = self.explain()._repr_html_() if self.findings else ""
        return (
            f"<div><b>Triage:</b> {html.escape(self.triage)}<br><b>Red flags:</b><ul>{flags}</ul>"
            f"<table><tr><th>condition</th><th>P(present)</th><th></th></tr>{rows}</table>"
            f"{why}"
            "<small>Research and teaching model: probabilities, not a diagnosis.</small></div>"
        )


class Model:
    """A knowledge base with its network, inference and triage rules.

    Parameters
    ----------
    knowledge : KnowledgeBase
        A checked knowledge base (see :func:`model.knowledge.load_priors`).
    network : DiscreteBayesianNetwork, optional
        Its network, when the caller has already built it (built from
        ``knowledge`` otherwise); it must match ``knowledge``.

    Examples
    --------
    >>> from model import Model, parameters
    >>> table = parameters()
    >>> row = (table.table == "condition_prior") & (table.node == "gout") & (table.parent == "")
    >>> table.loc[row, "value"] *= 2
    >>> edited = Model.from_parameters(table)
    >>> edited.knowledge.baselines["gout"] == 2 * Model.default().knowledge.baselines["gout"]
    True
    """

    def __init__(
        self, knowledge: KnowledgeBase, network: DiscreteBayesianNetwork | None = None
    ) -> None:
        self.knowledge = knowledge
        if network is not None:  # a caller that already built this knowledge's network
            self.__dict__["_network"] = network
        self.vocabulary: Vocabulary = knowledge.vocabulary
        self.conditions = self.vocabulary.conditions
        self.findings = self.vocabulary.findings
        self.context_nodes = knowledge.context_nodes
        self.triage_rules = TriageRules(
            knowledge.triage_rules, self.vocabulary.triage_levels, self.findings, self.conditions
        )

    # construction -----------------------------------------------------------
    @classmethod
    @functools.cache
    def default(cls) -> Model:
        """The model built from the bundled ``priors/`` (built once, then cached)."""
        return cls(load_priors())

    @classmethod
    def from_directory(cls, directory: str | Path) -> Model:
        """Build a model from a folder laid out like ``priors/``."""
        return cls(load_priors(directory))

    @classmethod
    def from_parameters(cls, table: pd.DataFrame, vocabulary: Vocabulary | None = None) -> Model:
        """Build a model from an edited copy of :meth:`parameters`, checked like the files."""
        vocab = vocabulary or cls.default().vocabulary
        return cls(from_parameters(table, vocab))

    # the network --------------------------------------------------------------
    @functools.cached_property
    def _network(self) -> DiscreteBayesianNetwork:
        return build_network(self.knowledge)

    def network(self) -> DiscreteBayesianNetwork:
        """A copy of the pgmpy network behind :meth:`diagnose` (safe to modify)."""
        return self._network.copy()

    def parameters(self) -> pd.DataFrame:
        """One row per number in the model, with its source (a copy: edit freely)."""
        return self.knowledge.parameters()

    def evidence(self, findings: Mapping[str, Any]) -> dict[str, str]:
        """The pgmpy evidence dict that :meth:`diagnose` conditions on."""
        return to_evidence(self.knowledge, self.vocabulary.validate(findings))

    # inference ----------------------------------------------------------------
    def encode(self, cases: Sequence[Mapping[str, Value]]) -> tuple[np.ndarray, np.ndarray]:
        """Turn validated cases into engine arrays.

        Returns ``context`` (n, n_context_nodes) state indices with -1 for unknown,
        and ``findings`` (n, n_findings) int8 with 1 present, 0 absent, -1 not asked.
        """
        c_index = {n: i for i, n in enumerate(self.context_nodes)}
        f_index = {f: i for i, f in enumerate(self.findings)}
        context = np.full((len(cases), len(c_index)), -1, dtype=np.int64)
        findings = np.full((len(cases), len(f_index)), -1, dtype=np.int8)
        for row, case in enumerate(cases):
            for name, value in case.items():
                if name in f_index:
                    findings[row, f_index[name]] = self.code(name, value)
                else:
                    context[row, c_index[AGE_NODE if name == AGE_INPUT else name]] = \
                        self.code(name, value)
        return context, findings

    def code(self, name: str, value: Value) -> int:
        """The engine code of one validated value: 1/0 for a finding, else the state
        index of the context node (``age_years`` becomes its ``age_band``)."""
        if name in self.findings:
            return int(bool(value))
        kb = self.knowledge
        if name == AGE_INPUT:
            return kb.context_states[AGE_NODE].index(kb.age_band(int(value)))
        state = ("no", "yes")[int(value)] if isinstance(value, bool) else str(value)
        return kb.context_states[name].index(state)

    @functools.cached_property
    def engine(self) -> CompiledNetwork:
        """The network compiled for exact batch inference (see :mod:`model.engine`)."""
        return CompiledNetwork.from_network(
            self._network, self.context_nodes, self.conditions, self.findings
        )

    def infer(self, context: np.ndarray, findings: np.ndarray) -> np.ndarray:
        """Exact P(condition present | evidence) for many cases at once.

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
        """Natural log of P(evidence) for each case (arrays as in :meth:`infer`)."""
        return self.engine.log_evidence(context, findings)

    def posteriors(self, cases: Sequence[Mapping[str, Value]]) -> np.ndarray:
        """P(condition present | case) for validated cases: (n_cases, n_conditions)."""
        return self.infer(*self.encode(cases))

    # research tools ---------------------------------------------------------------
    def score(self, cases: pd.DataFrame, **options: Any) -> pd.DataFrame:
        """Score a table of cases with this model; see :func:`model.score`."""
        from .scoring import score

        return score(cases, self, **options)

    def sensitivity(self, findings: Mapping[str, Any], **options: Any) -> Sensitivity:
        """How each condition's posterior moves when each number moves; see
        :func:`model.sensitivity.sensitivity`."""
        from .sensitivity import sensitivity

        return sensitivity(self, findings, **options)

    def export(self, fmt: str, path: str | Path) -> Path:
        """Write the network as ``bif``, ``xmlbif`` or ``xdsl`` for GeNIe, Hugin, SamIam
        or pyAgrum; see :func:`model.export.export_network`."""
        from .export import export_network

        return export_network(self, fmt, path)

    # diagnosis ----------------------------------------------------------------
    def diagnose(self, findings: Mapping[str, Any]) -> Diagnosis:
        """Rank the conditions and triage one case; see :func:`model.diagnose`."""
        given = self.vocabulary.validate(findings)
        context, coded = self.encode([given])
        probs = self.infer(context, coded)
        triage = self.triage_rules.assess(coded, probs)[0]
        return self._wrap(given, probs[0], triage.level, triage.red_flags)

    def _wrap(
        self, given: dict[str, Value], probs: np.ndarray, level: str, flags: tuple[str, ...]
    ) -> Diagnosis:
        order = sorted(range(len(self.conditions)), key=lambda j: -probs[j])
        ranked = tuple((self.conditions[j], float(probs[j])) for j in order)
        probabilities = {c: float(p) for c, p in zip(self.conditions, probs, strict=True)}
        return Diagnosis(ranked, probabilities, level, flags, given, self)
