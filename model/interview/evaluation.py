"""How many questions the interview needs: accuracy and triage against the number asked.

:func:`evaluate_replay` replays a case file once (:mod:`.replay`) and scores, from
the same interviews, the evidence after the first *k* questions for every *k*
(an interview with a limit of *k* asks exactly those: the policy does not depend
on the limit). Each budget is scored by :class:`model.scoring.Scorer` and summed
by :class:`model.metrics.Metrics`, like ``score``; the same cases scored with
every cell known are the reference. :func:`model.interview.report.write_interview_report` writes the
tables and a figure.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

import numpy as np
import pandas as pd

from ..columns import Layout
from ..files import write_atomic, write_rows
from ..metrics import Metrics, Summary
from ..scoring import CHUNK_SIZE, Scorer, iter_scored
from .policy import Policy
from .replay import Answers, Replay

if TYPE_CHECKING:
    from ..diagnosis import ModelCore

__all__ = ["GOAL_MEDIAN", "GOAL_TOP1_POINTS", "ReplayEvaluation", "evaluate_replay"]

#: The issue's goals on the bundled sets: median questions, top-1 points below full.
GOAL_MEDIAN, GOAL_TOP1_POINTS = 8, 3


@dataclass(frozen=True)
class ReplayEvaluation:
    """A case file replayed through the interview, beside the same cases fully known.

    Attributes
    ----------
    questions : int array
        Questions asked of each case without an error (intake excluded).
    informative : int array
        Of those, the ones answered (not "don't know").
    interview, full : Summary
        The replay as run (stops when safe, or at ``max_questions``), and every cell known.
    budgets : tuple of (int, int, Summary)
        For k = 0, 1, ... up to the most questions asked: k, the cases still being asked
        after k questions, and the summary of the evidence after at most k questions.
    max_questions : int or None
    """

    questions: np.ndarray
    informative: np.ndarray
    interview: Summary
    full: Summary
    budgets: tuple[tuple[int, int, Summary], ...]
    max_questions: int | None

    @property
    def median_questions(self) -> float:
        """Median questions asked (intake excluded)."""
        return float(np.median(self.questions)) if len(self.questions) else float("nan")

    @property
    def emergency_level(self) -> str:
        """The most urgent triage level."""
        return self.full.levels[0]

    def goals(self) -> list[tuple[str, bool, str]]:
        """The issue's three goals: (goal, met, the figures)."""
        median = self.median_questions
        gap = 100 * (self.full.top1_accuracy - self.interview.top1_accuracy)
        under, total = self.interview.under_triage_of(self.emergency_level)
        full_under, _ = self.full.under_triage_of(self.emergency_level)
        return [
            (f"median questions <= {GOAL_MEDIAN}", median <= GOAL_MEDIAN, f"{median:g}"),
            (f"top-1 within {GOAL_TOP1_POINTS} points of the full vignette",
             gap <= GOAL_TOP1_POINTS,
             f"{self.interview.top1_accuracy:.1%} vs {self.full.top1_accuracy:.1%} "
             f"({abs(gap):.1f} points {'below' if gap >= 0 else 'above'})"),
            (f"no {self.emergency_level} under-triaged", under == 0,
             f"{under} of {total} (full vignette: {full_under})"),
        ]

    def under_triaged(self, summary: Summary) -> list[str]:
        """The ids of the cases expected at the most urgent level and advised less."""
        return [case for case, expected, _ in summary.under_triaged
                if expected == self.emergency_level]


def _prefix_arrays(model: ModelCore, answers: Sequence[Answers | None], intake: Sequence[str],
                   k: int) -> tuple[np.ndarray, np.ndarray]:
    """Engine arrays of each case's intake plus its first ``k`` questions."""
    cases = []
    for run in answers:
        given: dict = {}
        asked = 0
        for item, value in run or ():
            if item not in intake:
                if asked == k:
                    break
                asked += 1
            if value is not None:
                given[item] = value
        cases.append(given)
    return model.encoding.encode(cases)


def evaluate_replay(source: str | os.PathLike[str], model: ModelCore, *,
                    max_questions: int | None = None, policy: Policy | None = None,
                    target: str | os.PathLike[str] | None = None) -> ReplayEvaluation:
    """Replay a case file and measure accuracy and triage against the questions asked.

    Parameters
    ----------
    source : path
        A case CSV with ``expected_condition`` and/or ``expected_triage``.
    model : ModelCore
    max_questions : int or None
        The interview's limit per patient (intake excluded).
    policy : Policy, optional
    target : path, optional
        Also write the replay's output there (as ``python -m model interview --replay``).

    Returns
    -------
    ReplayEvaluation
    """
    made: list[Replay] = []

    def scorer(m: ModelCore, layout: Layout) -> Replay:
        made.append(Replay(m, layout, max_questions=max_questions, policy=policy,
                           keep_answers=True))
        return made[-1]

    layout, chunks = iter_scored(source, model, scorer=scorer)
    replayed = pd.concat(list(chunks), ignore_index=True)
    if target is not None:
        def write(handle: TextIO) -> None:
            csv.writer(handle, lineterminator="\n").writerow(layout.output)
            write_rows(replayed, handle)

        write_atomic(target, write)
    interview = _summary(model, [replayed])
    full = _summary(model, iter_scored(source, model, chunk_size=CHUNK_SIZE)[1])
    replay_ = made[0]
    errors = replayed["error"].fillna("").astype(str).to_numpy(dtype=object)
    ok = errors == ""
    questions = replayed["questions_asked"].to_numpy(dtype=float, na_value=np.nan)[ok]
    questions = questions.astype(int)
    informative = np.array([sum(v is not None for i, v in run if i not in replay_.intake_ids)
                            for run in replay_.answers if run is not None], dtype=int)
    plain = Scorer(model, replay_.input_layout)
    budgets = []
    for k in range(int(questions.max(initial=0)) + 1):
        context, findings = _prefix_arrays(model, replay_.answers, replay_.intake_ids, k)
        scored = plain.finish(replayed, 1, context, findings, errors)
        budgets.append((k, int((questions > k).sum()), _summary(model, [scored])))
    return ReplayEvaluation(questions, informative, interview, full, tuple(budgets),
                            max_questions)


def _summary(model: ModelCore, chunks: object) -> Summary:
    metrics = Metrics.of(model)
    for chunk in chunks:  # type: ignore[attr-defined]
        metrics.update(chunk)
    return metrics.summary()


def budget_table(evaluation: ReplayEvaluation) -> pd.DataFrame:
    """One row per number of questions k: cases still asked, top-1, top-3, triage."""
    level = evaluation.emergency_level
    rows = []
    for k, still, s in evaluation.budgets:
        rows.append({"questions": k, "still_asking": still, "top1": s.top1_accuracy,
                     "top3": s.top3_accuracy,
                     "triage_agreement": s.triage_agreement / s.with_triage
                     if s.with_triage else np.nan,
                     "under_triage": s.under_triage,
                     f"{level}_under_triaged": s.under_triage_of(level)[0]})
    return pd.DataFrame(rows)


def side_by_side(evaluation: ReplayEvaluation) -> pd.DataFrame:
    """The interview as replayed beside the same cases with every cell known."""
    level = evaluation.emergency_level

    def column(s: Summary) -> dict[str, str]:
        under, total = s.under_triage_of(level)
        triage = s.triage_agreement / s.with_triage if s.with_triage else np.nan
        return {"top-1 accuracy": f"{s.top1_accuracy:.1%}",
                "top-3 accuracy": f"{s.top3_accuracy:.1%}",
                "triage agreement": f"{triage:.1%}",
                "under-triage": f"{s.under_triage}/{s.with_triage}",
                f"{level} under-triaged": f"{under}/{total}",
                "over-triage": f"{s.over_triage}/{s.with_triage}"}

    q, info = evaluation.questions, evaluation.informative
    asked = {"questions asked (median / mean / max)":
             f"{np.median(q):g} / {q.mean():.1f} / {q.max()}" if len(q) else "-",
             "answered, not 'don't know' (median)": f"{np.median(info):g}" if len(info) else "-"}
    known = {"questions asked (median / mean / max)": "every cell",
             "answered, not 'don't know' (median)": "every cell"}
    return pd.DataFrame({"interview": asked | column(evaluation.interview),
                         "full vignette": known | column(evaluation.full)})
