"""The public surface: :class:`Model` and :class:`Diagnosis` with every tool at hand,
and the module-level functions that use the bundled model.

The core (:mod:`model.diagnosis`) knows nothing of the tools built on it;
this module sits above both. :class:`Model` is the core model plus the tools as
methods (explain, next questions, the interview, sensitivity, scoring, export), and
:class:`Diagnosis` the core result plus :meth:`Diagnosis.explain` and
:meth:`Diagnosis.next_questions`. The functions (:func:`diagnose`,
:func:`score`, ...) fill in ``Model.default()`` and delegate, as httpx's
top-level functions delegate to a client.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import diagnosis
from .errors import HeelnetError
from .explain import Explanation, explain
from .interview import Interview, Policy
from .metrics import Summary, summarise
from .questions import Question, next_questions
from .scoring import CHUNK_SIZE
from .scoring import score as _score
from .sensitivity import Sensitivity
from .sensitivity import sensitivity as _sensitivity
from .simulate import simulate as _simulate
from .uncertainty import DRAWS, SEED

if TYPE_CHECKING:
    from pgmpy.models import DiscreteBayesianNetwork

    from .fit import Fit

__all__ = [
    "Diagnosis",
    "Model",
    "diagnose",
    "evaluate",
    "evidence",
    "export_network",
    "network",
    "parameters",
    "score",
    "sensitivity",
    "simulate",
    "sweep",
]


@dataclass(frozen=True, slots=True, repr=False)
class Diagnosis(diagnosis.Diagnosis):
    """The result of :func:`diagnose`: probabilities, never a verdict.

    Its attributes (``ranked``, ``probabilities``, ``triage``, ``red_flags``,
    ``findings``, ``intervals``, ``p_none``, ``other_causes``, ``p_no_diagnosis``) are
    those of :class:`model.result.Diagnosis`, with ``model`` the :class:`Model` that
    made it; the methods below add the tools.
    """

    def explain(self, conditions: Sequence[str] | None = None, **options: Any) -> Explanation:
        """Which given findings raised or lowered each top condition, and by how much.

        The contributions add up exactly to the change of log-odds from the
        context-only prior to this posterior; see :func:`model.explain`.
        """
        return explain(self.model, self.findings, conditions, **options)

    def next_questions(self, n: int | None = 5) -> list[Question]:
        """The unasked items ranked by expected information gain about the conditions;
        see :func:`model.next_questions`."""
        return next_questions(self.model, self.findings, n)

    def interval_drivers(self, condition: str | None = None, n: int = 5) -> pd.DataFrame:
        """The numbers that drive ``condition``'s interval (the top condition by default).

        From :func:`model.sensitivity`: each number's exact derivative times the width
        of its plausible range (``range_swing``), largest first.
        """
        condition = condition or self.ranked[0][0]
        found = _sensitivity(self.model, self.findings, conditions=[condition])
        return found.ranked(condition, n, by="range_swing")

    def _repr_html_(self) -> str:
        why = self.explain()._repr_html_() if self.findings else ""
        return diagnosis.Diagnosis._repr_html_(self).replace("<small>", f"{why}<small>", 1)


class Model(diagnosis.ModelCore):
    """A knowledge base with its network, exact inference, triage and research tools.

    Build one with :meth:`default` (the bundled ``priors/``), :meth:`from_directory`
    or :meth:`from_parameters` (an edited :meth:`parameters` table).

    Examples
    --------
    >>> from model import Model, parameters
    >>> table = parameters()
    >>> row = (table.table == "condition_prior") & (table.node == "gout")
    >>> table.loc[row, "value"] *= 2
    >>> edited = Model.from_parameters(table)
    >>> edited.knowledge.baselines["gout"] == 2 * Model.default().knowledge.baselines["gout"]
    True
    """

    _result = Diagnosis

    def diagnose(self, findings: Mapping[str, Any], intervals: bool = False,
                 **options: Any) -> Diagnosis:
        """Rank the conditions and triage one case; see :func:`model.diagnose`."""
        return super().diagnose(findings, intervals, **options)  # type: ignore[return-value]

    def fit(self, cases: pd.DataFrame, strength: float = 1.0, **options: Any) -> Fit:
        """Update the links and leaks from labelled cases; see :func:`model.fit.fit`.

        ``result.model`` is the updated model, ``result.changes`` what moved, and
        ``result.write(DIR)`` writes a priors folder that :meth:`from_directory` loads.
        """
        from .fit import fit

        return fit(self, cases, strength=strength, **options)

    def explain(self, findings: Mapping[str, Any], conditions: Sequence[str] | None = None,
                **options: Any) -> Explanation:
        """What each given finding did to each condition's odds; see :func:`model.explain`."""
        return explain(self, findings, conditions, **options)

    def next_questions(self, findings: Mapping[str, Any], n: int | None = 5) -> list[Question]:
        """Unasked items by expected information gain; see :func:`model.next_questions`."""
        return next_questions(self, findings, n)

    def interview(self, *, max_questions: int | None = None,
                  policy: Policy | None = None) -> Interview:
        """Start an interview: age and sex first, then warning signs, then the most
        informative questions, until it is safe to stop; see :mod:`model.interview`.

        Examples
        --------
        >>> interview = Model.default().interview(max_questions=1)
        >>> interview.answer("age_years", 11)
        >>> interview.answer("sex", "female")
        >>> interview.next().number
        1
        """
        return Interview(self, max_questions=max_questions, policy=policy)

    def sensitivity(self, findings: Mapping[str, Any], **options: Any) -> Sensitivity:
        """How each posterior moves when each number moves; see :func:`model.sensitivity`."""
        return _sensitivity(self, findings, **options)

    def score(self, cases: pd.DataFrame, **options: Any) -> pd.DataFrame:
        """Score a table of cases with this model; see :func:`model.score`."""
        return score(cases, self, **options)

    def simulate(self, n: int, seed: int = 0, **settings: Any) -> pd.DataFrame:
        """Synthetic consulting cases sampled from this model; see :func:`model.simulate`."""
        return _simulate(n, self, seed, **settings)

    def export(self, fmt: str, path: str | os.PathLike[str], *, force: bool = False) -> Path:
        """Write the network as ``bif``, ``xmlbif`` or ``xdsl``; see
        :func:`model.export_network`."""
        from .export import export_network as write

        return write(self, fmt, path, force=force)


# ----------------------------------------------------------------------------- functions


def diagnose(findings: Mapping[str, Any], intervals: bool = False, *, draws: int = DRAWS,
             seed: int = SEED) -> Diagnosis:
    """Rank the conditions and triage one case with the bundled model.

    Parameters
    ----------
    findings : mapping of id to value
        Context items and findings from ``priors/vocabulary.csv``. Booleans take
        True/False, 1/0, yes/no, true/false; ``age_years`` a whole number 0-120;
        ``sex`` ``"female"`` or ``"male"``. A missing or blank item is not asked
        (marginalised), never read as absent.
    intervals : bool, default False
        Also compute ``.intervals``: each posterior's 90 % interval over the
        plausible ranges of the model's numbers (Monte Carlo over ``draws`` parameter
        draws, reproducible by ``seed``; see :mod:`model.uncertainty`).

    Returns
    -------
    Diagnosis
        ``ranked``, ``probabilities``, ``triage``, ``red_flags`` and ``intervals``.

    Raises
    ------
    UnknownIdError
        For a name not in the vocabulary, with the closest valid ids.
    InvalidValueError
        For a value a variable cannot take, saying what is accepted.

    Examples
    --------
    >>> result = diagnose({"age_years": 35, "sex": "male", "pop_or_snap": True,
    ...                    "palpable_gap": True, "weak_push_off": True})
    >>> result.ranked[0][0], result.triage
    ('achilles_rupture', 'emergency')
    >>> result.red_flags[0]
    'A gap in the Achilles tendon suggests a rupture: get seen today'
    >>> low, high = diagnose({"palpable_gap": True}, intervals=True).intervals["achilles_rupture"]
    >>> low < diagnose({"palpable_gap": True}).probabilities["achilles_rupture"] < high
    True
    """
    return Model.default().diagnose(findings, intervals, draws=draws, seed=seed)


def network(compact: bool = False) -> DiscreteBayesianNetwork:
    """The pgmpy ``DiscreteBayesianNetwork`` behind :func:`diagnose` (a fresh copy); with
    ``compact``, wide noisy-ORs as chains of small ORs (see :meth:`Model.network`)."""
    return Model.default().network(compact)


def evidence(findings: Mapping[str, Any]) -> dict[str, str]:
    """The pgmpy evidence dict :func:`diagnose` conditions on, e.g. ``{'age_band': ...}``."""
    return Model.default().evidence(findings)


def parameters() -> pd.DataFrame:
    """Every number in the model, one row each, with ``source_kind`` and ``source``."""
    return Model.default().parameters()


def score(cases: pd.DataFrame, model: diagnosis.ModelCore | None = None, *,
          keep: Iterable[str] = (), chunk_size: int = CHUNK_SIZE,
          intervals: bool = False, **options: Any) -> pd.DataFrame:
    """Score a table of cases: ranked posteriors and triage, one output row per case.

    See :func:`model.scoring.score` for the columns; ``model`` is the bundled one by
    default. With ``intervals=True`` each posterior gets its 90 % interval over the
    numbers' plausible ranges (``p_<condition>_low``, ``p_<condition>_high``). A Dask
    DataFrame gives a lazy Dask DataFrame of the same partitions, scored on the
    workers (:func:`model.batch.score_dask`; needs the ``dask`` extra).

    Examples
    --------
    >>> import pandas as pd
    >>> out = score(pd.DataFrame({"age_years": [11], "heel_squeeze_tender": ["yes"]}))
    >>> out.loc[0, "top1"]
    'severs_disease'
    """
    model = model or Model.default()
    if type(cases).__module__.partition(".")[0] == "dask":
        if intervals or options:
            raise HeelnetError("a Dask DataFrame is scored without intervals or other "
                               "options; give them when scoring a pandas DataFrame")
        from .batch import score_dask

        return score_dask(cases, model, keep=keep, chunk_size=chunk_size)
    return _score(cases, model, keep=keep, chunk_size=chunk_size, intervals=intervals,
                  **options)


def evaluate(cases: pd.DataFrame, model: diagnosis.ModelCore | None = None, *,
             keep: Iterable[str] = ()) -> Summary:
    """Score cases that carry ``expected_condition`` / ``expected_triage`` and summarise:
    top-1/top-3 accuracy, triage agreement, under- and over-triage, calibration."""
    model = model or Model.default()
    return summarise(_score(cases, model, keep=keep), model.diagnoses, model.triage_rules.levels,
                     model.other_causes)


def simulate(n: int, seed: int = 0, model: diagnosis.ModelCore | None = None,
             **settings: Any) -> pd.DataFrame:
    """Synthetic consulting cases sampled from the network; see :func:`model.simulate.simulate`."""
    return _simulate(n, model or Model.default(), seed, **settings)


def sensitivity(model: diagnosis.ModelCore, findings: Mapping[str, Any],
                **options: Any) -> Sensitivity:
    """How each posterior of one case moves when each number moves; see
    :func:`model.sensitivity.sensitivity`."""
    return _sensitivity(model, findings, **options)


def sweep(model: diagnosis.ModelCore, cases: pd.DataFrame,
          edit: Callable[[pd.DataFrame, Any], pd.DataFrame],
          values: Iterable[Hashable]) -> pd.DataFrame:
    """Accuracy and triage of ``cases`` under a series of edits of the parameter table;
    see :func:`model.sensitivity.sweep`."""
    from .sweeps import sweep as run

    return run(model, cases, edit, values)


def export_network(model: diagnosis.ModelCore, fmt: str, path: str | os.PathLike[str], *,
                   force: bool = False) -> Path:
    """Write ``model``'s network as ``bif``, ``xmlbif`` or ``xdsl``; see
    :func:`model.export.export_network`."""
    from .export import export_network as write

    return write(model, fmt, path, force=force)
