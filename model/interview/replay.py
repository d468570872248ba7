"""Replay: each row of a case file is a patient who answers only what its cells hold.

A blank cell is "don't know". ``age_years`` and ``sex`` are given at the intake and
are not counted. The output is :func:`model.score`'s, computed on what the interview
asked, plus ``questions_asked`` (intake excluded) and ``asked`` (the ids in order,
``|``-joined).

It is :class:`model.scoring.Scorer` with one step added between reading and
scoring: every cell is parsed and every row's errors collected exactly as
``score`` does (:meth:`Encoding.column`, :meth:`Vocabulary.parse`); a row with an
error is not interviewed and keeps its message; each good row is interviewed and
its evidence replaced by the answers the interview got. Files are written through
:func:`model.scoring.score_csv`, so an output is replaced only when complete.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..columns import Layout
from ..errors import HeelnetError
from ..scoring import CHUNK_SIZE, Scorer, score, score_csv
from ..vocabulary import Value
from .policy import Policy
from .session import INTAKE, Interview

if TYPE_CHECKING:
    from ..diagnosis import ModelCore

__all__ = ["REPLAY_COLUMNS", "Replay", "interview_case", "replay", "replay_csv"]

#: The columns a replay adds to the scorer's output.
REPLAY_COLUMNS = ("questions_asked", "asked")

Answers = tuple[tuple[str, Value | None], ...]


def interview_case(model: ModelCore, case: Mapping[str, Value | None], *,
                   max_questions: int | None = None, policy: Policy | None = None) -> Interview:
    """Run an interview on a patient who answers from ``case`` (a missing or ``None``
    item is "don't know"); return the finished :class:`Interview`.

    Examples
    --------
    >>> from model import Model
    >>> done = interview_case(Model.default(), {"age_years": 35, "sex": "male",
    ...                       "pop_or_snap": True, "palpable_gap": True, "weak_push_off": True})
    >>> done.result.ranked[0][0], done.result.triage
    ('achilles_rupture', 'emergency')
    """
    session = Interview(model, max_questions=max_questions, policy=policy)
    while (question := session.next()) is not None:
        session.answer(question.id, case.get(question.id))
    return session


class Replay(Scorer):
    """A :class:`~model.scoring.Scorer` that interviews each good row before scoring it.

    With ``keep_answers``, :attr:`answers` collects, per output row in order, the
    interview's answers (``None`` for a row with an error), for
    :mod:`model.interview.evaluation`; otherwise nothing is kept between chunks.
    """

    def __init__(self, model: ModelCore, layout: Layout, *, max_questions: int | None = None,
                 policy: Policy | None = None, keep_answers: bool = False) -> None:
        super().__init__(model, layout)
        clash = [c for c in REPLAY_COLUMNS if c in layout.output]
        if clash:
            raise HeelnetError(f"column '{clash[0]}' is written by the replay; rename it in "
                               "the input or do not keep it")
        self.input_layout = layout
        self.layout = dataclasses.replace(layout, output=(*layout.output, *REPLAY_COLUMNS))
        self.max_questions, self.policy = max_questions, policy
        self.intake_ids = tuple(i for i in INTAKE if i in model.vocabulary.inputs)
        self.keep_answers = keep_answers
        self.answers: list[Answers | None] = []

    def finish(self, frame: pd.DataFrame, first_row: int, context: np.ndarray,
               findings: np.ndarray, errors: np.ndarray) -> pd.DataFrame:
        """Interview each row without an error, then score what it answered."""
        vocab, encoding = self.model.vocabulary, self.model.encoding
        n = len(frame)
        context, findings = context.copy(), findings.copy()
        count = pd.array([pd.NA] * n, dtype="Int64")
        asked = np.full(n, "", dtype=object)
        inputs = self.layout.inputs
        cells = frame[list(inputs)].to_numpy(dtype=object)
        for i in range(n):
            if errors[i] != "":
                if self.keep_answers:
                    self.answers.append(None)
                continue
            case = {name: vocab.parse(name, cell)
                    for name, cell in zip(inputs, cells[i], strict=True)}
            session = interview_case(self.model, case, max_questions=self.max_questions,
                                     policy=self.policy)
            coded = encoding.encode([session.given])
            context[i], findings[i] = coded[0][0], coded[1][0]
            count[i] = session.questions_asked
            asked[i] = "|".join(item for item, _ in session.answers
                                if item not in session.intake)
            if self.keep_answers:
                self.answers.append(session.answers)
        out = super().finish(frame, first_row, context, findings, errors)
        out["questions_asked"] = pd.Series(count, index=out.index)
        out["asked"] = asked
        return out


def _scorer(max_questions: int | None, policy: Policy | None) -> Any:
    return functools.partial(Replay, max_questions=max_questions, policy=policy)


def replay(cases: pd.DataFrame, model: ModelCore, *, max_questions: int | None = None,
           policy: Policy | None = None, keep: Iterable[str] = (),
           chunk_size: int = CHUNK_SIZE) -> pd.DataFrame:
    """Interview every row of a table of cases and score what each interview asked.

    Parameters are those of :func:`model.score`, plus ``max_questions`` (per patient,
    intake excluded; ``None`` for no limit) and ``policy``. Returns ``score``'s
    columns plus ``questions_asked`` and ``asked``.

    Examples
    --------
    >>> import pandas as pd
    >>> from model import Model
    >>> cases = pd.DataFrame({"age_years": [35, 250], "sex": ["male", "male"],
    ...                       "pop_or_snap": ["yes", "yes"], "palpable_gap": ["yes", ""],
    ...                       "weak_push_off": ["yes", "yes"]})
    >>> out = replay(cases, Model.default())
    >>> out.loc[0, "top1"], out.loc[0, "triage"], bool(out.loc[0, "questions_asked"] > 0)
    ('achilles_rupture', 'emergency', True)
    >>> out.loc[1, "error"]
    "'age_years' must be a whole number from 0 to 120; got 250"
    """
    return score(cases, model, keep=keep, chunk_size=chunk_size,
                 scorer=_scorer(max_questions, policy))


def replay_csv(source: str | os.PathLike[str], target: str | os.PathLike[str],
               model: ModelCore, *, max_questions: int | None = None,
               policy: Policy | None = None, keep: Iterable[str] = (),
               chunk_size: int = CHUNK_SIZE, on_chunk: Any = None) -> Layout:
    """Replay a case CSV into an output CSV (written whole or not at all); see
    :func:`replay` for the columns and :func:`model.scoring.score_csv` for the rest."""
    return score_csv(source, target, model, keep=keep, chunk_size=chunk_size,
                     on_chunk=on_chunk, scorer=_scorer(max_questions, policy))
