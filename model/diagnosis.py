"""The core of the model: one knowledge base with its encoding, inference and triage.

:class:`ModelCore` ties a checked knowledge base to its encoding, its tables, its
compiled inference engine and its triage rules, and diagnoses: validate, encode,
infer, triage, wrap in a :class:`Diagnosis`. It is what every tool (scoring,
explanations, sensitivity, the interview...) builds on; users hold a
:class:`model.Model`, which is this core plus those tools as methods.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd

from .checks import check_ids
from .encoding import Encoding
from .engine import Engine
from .errors import HeelnetError, ImpossibleEvidenceError
from .knowledge import KnowledgeBase, from_parameters, load_priors
from .network import NetworkTables, build
from .result import Diagnosis
from .triage import TriageRules
from .uncertainty import DRAWS, SEED, posterior_intervals
from .vocabulary import Value, Vocabulary

if TYPE_CHECKING:
    from pgmpy.models import DiscreteBayesianNetwork

__all__ = ["Diagnosis", "ModelCore"]

M = TypeVar("M", bound="ModelCore")


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
        Node names in engine column order; ``conditions`` holds every condition node.
    diagnoses, other_causes : tuple of str
        The conditions that are diagnoses (ranked) and those that are other causes
        (never ranked); see :class:`~model.vocabulary.Vocabulary`.
    diagnosis_columns, other_cause_columns : int array
        The columns of ``conditions`` (of every posterior array) that are diagnoses, and
        those that are other causes.
    triage_rules : TriageRules
    """

    #: The class of the results :meth:`diagnose` returns.
    _result: type[Diagnosis] = Diagnosis

    def __init__(self, knowledge: KnowledgeBase) -> None:
        self.knowledge = knowledge
        self.vocabulary: Vocabulary = knowledge.vocabulary
        self.encoding = Encoding.of(knowledge)
        self.conditions = self.encoding.conditions
        self.diagnoses: tuple[str, ...] = self.vocabulary.diagnoses
        self.other_causes: tuple[str, ...] = self.vocabulary.other_causes
        self.diagnosis_columns = np.array([self.conditions.index(c) for c in self.diagnoses],
                                          dtype=np.intp)
        self.other_cause_columns = np.array(
            [self.conditions.index(c) for c in self.other_causes], dtype=np.intp)
        self.findings = self.encoding.findings
        self.context_nodes = self.encoding.context
        self.triage_rules = TriageRules(
            knowledge.triage_rules, self.vocabulary.triage_levels, self.findings, self.conditions,
            {node: self.encoding.states[node] for node in self.context_nodes},
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

    @functools.cached_property
    def _pgmpy_compact(self) -> DiscreteBayesianNetwork:
        return self.tables.to_pgmpy(compact=True)

    def network(self, compact: bool = False) -> DiscreteBayesianNetwork:
        """A copy of the pgmpy network behind :meth:`diagnose` (safe to modify).

        With ``compact``, findings with more than two causes are chains of two-parent
        ORs through auxiliary nodes (same distribution; see
        :meth:`~model.network.NetworkTables.to_pgmpy`): use it for VariableElimination
        when findings with many causes are observed.
        """
        return (self._pgmpy_compact if compact else self._pgmpy).copy()

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

    @functools.cached_property
    def _no_diagnosis_engine(self) -> Engine:
        """The engine of the network plus one virtual finding, observed absent, that any
        diagnosis causes for certain (leak 0, link 1; other causes are not linked):
        P(evidence, virtual absent) = P(no diagnosis, evidence)."""
        t = self.tables
        column = np.zeros((len(self.conditions), 1))
        column[self.diagnosis_columns, 0] = 1.0
        return Engine(dataclasses.replace(t, findings=(*t.findings, "__no_diagnosis"),
                                          leak=np.append(t.leak, 0.0),
                                          link=np.hstack([t.link, column])))

    def no_diagnosis(self, context: np.ndarray, findings: np.ndarray,
                     known: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """Exact P(none of the diagnoses | evidence) per encoded case (arrays as in
        :meth:`infer`): other causes may be present. Without other causes it is p_none;
        with them, the evidence is conditioned on a virtual finding that any diagnosis
        would cause, observed absent (one more kernel pass). ``known``: the cases'
        ``(p_none, log P(evidence))`` from :meth:`infer_all`, when the caller has them
        (saves a pass). NaN where P(evidence) is 0.
        """
        p_none, log_z = known if known is not None else self.infer_all(context, findings)[1:]
        if not self.other_causes:
            return p_none
        virtual = np.zeros((len(findings), 1), dtype=findings.dtype)
        log_no = self._no_diagnosis_engine.log_evidence(context,
                                                        np.hstack([findings, virtual]))
        with np.errstate(invalid="ignore", over="ignore"):
            out = np.minimum(np.exp(log_no - log_z), 1.0)
        out[~np.isfinite(log_z)] = np.nan
        return out

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

    def log_none(self, context: np.ndarray, findings: np.ndarray) -> np.ndarray:
        """log P(none of the conditions, evidence) per encoded case, exactly (from the same
        kernel pass as P(evidence): :meth:`Engine.joint_none`)."""
        return self.engine.joint_none(context, findings)[2]

    def infer_all(self, context: np.ndarray, findings: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(posteriors, p_none, log P(evidence))`` of many encoded cases (arrays as in
        :meth:`infer`); posteriors and p_none are NaN where P(evidence) is 0."""
        log_z, joint, log_none = self.engine.joint_none(context, findings)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            probs = joint / np.exp(log_z)[:, None]
            none = np.minimum(np.exp(log_none - log_z), 1.0)
        none[~np.isfinite(log_z)] = np.nan
        return probs, none, log_z

    def impossible(self, context: np.ndarray, findings: np.ndarray,
                   given: Mapping[str, Value] | None = None) -> ImpossibleEvidenceError:
        """The error for one encoded case of probability 0, naming a smallest set of its
        items that cannot occur together (each one is needed: without it the others
        are possible). Items are dropped one at a time; a drop is kept when the
        case stays impossible."""
        context, findings = np.array(context, dtype=np.int64), np.array(findings, np.int8)
        items = [(0, j) for j in np.flatnonzero(context >= 0)]
        items += [(1, j) for j in np.flatnonzero(findings >= 0)]
        for kind, j in items:
            trial_c, trial_f = context.copy(), findings.copy()
            (trial_c if kind == 0 else trial_f)[j] = -1
            if not np.isfinite(self.engine.log_evidence(trial_c[None], trial_f[None])[0]):
                context, findings = trial_c, trial_f
        named = [self._item(0, j, context[j], given) for j in np.flatnonzero(context >= 0)]
        named += [self._item(1, j, findings[j], given) for j in np.flatnonzero(findings >= 0)]
        return ImpossibleEvidenceError(_impossible_message(named))

    def _item(self, kind: int, j: int, code: int, given: Mapping[str, Value] | None) -> str:
        """``id=value`` of one item of an encoded case, as given when known."""
        if kind == 1:
            return f"{self.findings[j]}={'yes' if code else 'no'}"
        node = self.context_nodes[j]
        item = self.encoding.item_of(node)
        if given is not None and item in given:
            value = given[item]
            return f"{item}={'yes' if value is True else 'no' if value is False else value}"
        return f"{node}={self.encoding.states[node][code]}"

    def likelihood_ratio(self, condition: str, findings: Mapping[str, Any],
                         given: Mapping[str, Any] | None = None) -> float:
        """The likelihood ratio the model implies for ``findings`` about ``condition``,
        among people with ``given``.

        LR = P(findings | condition, given) / P(findings | no condition, given), computed
        exactly as the posterior odds of ``condition`` given both, divided by its odds
        given ``given`` alone (Bayes' rule). It is what a study that recruited people
        like ``given`` would measure, if the model were the world: compare it with a
        published sensitivity / (1 − specificity).

        Parameters
        ----------
        condition : str
        findings : mapping of id to value
            The test result, e.g. ``{"palpable_gap": True}`` (an LR+) or several items.
        given : mapping of id to value, optional
            The presenting population, e.g. ``{"sudden_onset": True}``; none by default.

        Raises
        ------
        UnknownIdError, InvalidValueError
            For unknown ids or bad values, as :meth:`diagnose`.
        HeelnetError
            When ``findings`` and ``given`` share an id, or ``condition`` is certain or
            impossible among people with ``given`` (its odds are 0 or infinite).

        Examples
        --------
        >>> from model import Model
        >>> m = Model.default()
        >>> lr = m.likelihood_ratio("achilles_rupture", {"palpable_gap": True},
        ...                         given={"sudden_onset": True, "pain_above_heel": True})
        >>> lr > 1
        True
        """
        check_ids("likelihood_ratio", "condition", [condition], self.conditions, "condition")
        test = self.vocabulary.validate(findings)
        population = self.vocabulary.validate(given or {})
        shared = sorted(set(test) & set(population))
        if shared:
            raise HeelnetError(f"The 'findings' and 'given' parameters of likelihood_ratio "
                               f"share {', '.join(map(repr, shared))}; give each item once.")
        if not test:
            raise HeelnetError("The 'findings' parameter of likelihood_ratio needs at least "
                               "one item (the test result); got none.")
        prior, post = self.posteriors([population, {**population, **test}])[
            :, self.conditions.index(condition)]
        if not 0.0 < prior < 1.0:
            raise HeelnetError(f"'{condition}' has probability {prior:g} among people with "
                               "the given items, so no finding can change its odds")
        with np.errstate(divide="ignore"):
            return float((post / (1.0 - post)) / (prior / (1.0 - prior)))

    # diagnosis ----------------------------------------------------------------
    def diagnose(self, findings: Mapping[str, Any], intervals: bool = False, *,
                 draws: int = DRAWS, seed: int = SEED) -> Diagnosis:
        """Rank the conditions and triage one case; see :func:`model.diagnose`.

        Raises :class:`~model.errors.ImpossibleEvidenceError` when the model gives the
        findings probability 0 (only an edited model can)."""
        given = self.vocabulary.validate(findings)
        context, coded = self.encoding.encode([given])
        probs, none, log_z = self.infer_all(context, coded)
        if not np.isfinite(log_z[0]):
            raise self.impossible(context[0], coded[0], given)
        triage = self.triage_rules.assess(coded, probs, context)[0]
        ranges = None
        if intervals:
            low, high = posterior_intervals(self, context, coded, draws=draws, seed=seed)
            ranges = {c: (float(low[0, j]), float(high[0, j]))
                      for j, c in enumerate(self.conditions)}
        nothing = self.no_diagnosis(context, coded, (none, log_z))[0]
        return self._wrap(given, probs[0], triage.level, triage.red_flags, ranges,
                          float(none[0]), float(nothing))

    def _wrap(self, given: dict[str, Value], probs: np.ndarray, level: str,
              flags: tuple[str, ...], intervals: dict[str, tuple[float, float]] | None = None,
              p_none: float = math.nan, p_no_diagnosis: float = math.nan) -> Diagnosis:
        order = sorted(self.diagnosis_columns, key=lambda j: -probs[j])  # stable: ties
        ranked = tuple((self.conditions[j], float(probs[j])) for j in order)
        probabilities = {self.conditions[j]: float(probs[j]) for j in self.diagnosis_columns}
        others = {c: float(probs[self.conditions.index(c)]) for c in self.other_causes}
        return self._result(ranked, probabilities, level, flags, given, self, intervals,
                            p_none, others, p_no_diagnosis)


def _impossible_message(items: Sequence[str]) -> str:
    """``a=yes and b=no cannot occur together under this model ...``"""
    if len(items) > 1:
        what = ", ".join(items[:-1]) + f" and {items[-1]} cannot occur together"
    else:
        what = f"{items[0]} cannot occur" if items else "this case cannot occur"
    return (f"{what} under this model (probability 0), so no posterior can be computed; "
            "check the numbers behind it (a likelihood or leak of 0 or 1) or the answers")


@functools.cache
def _default(cls: type[M]) -> M:
    return cls(load_priors())
