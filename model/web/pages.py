"""What the web page shows, computed without the web framework (so it is easy to test).

:func:`read_form` turns a submitted form into validated answers and one message per
bad value; :func:`results` makes everything the results panel shows from the
answers; :func:`rebuild` replays the answers an interview page carries (as
``id=value`` strings in hidden fields) into an :class:`~model.interview.Interview`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import HeelnetError
from ..explain import explain
from ..interview import Interview
from ..interview.session import accepted
from ..questions import next_questions
from ..vocabulary import Value

if TYPE_CHECKING:
    from ..diagnosis import ModelCore
    from ..interview import InterviewQuestion

__all__ = ["Results", "encode_answer", "read_form", "rebuild", "results"]

#: How many informative questions the results panel suggests.
SUGGESTED = 5


@dataclass(frozen=True)
class Results:
    """Everything the results panel shows."""

    ranked: list[dict[str, Any]]
    triage: str
    triage_meaning: str
    red_flags: tuple[str, ...]
    explanation: list[dict[str, Any]]
    ask_first: InterviewQuestion | None
    suggestions: list[dict[str, Any]]
    errors: dict[str, str] = field(default_factory=dict)
    given: dict[str, Value] = field(default_factory=dict)
    #: Other causes (not diagnoses, never ranked), in vocabulary order; empty if none.
    other_causes: list[dict[str, Any]] = field(default_factory=list)


def read_form(model: ModelCore, form: Mapping[str, str]
              ) -> tuple[dict[str, Value], dict[str, str], dict[str, str]]:
    """The answers of a submitted tick form.

    Returns ``(given, raw, errors)``: the valid answers, every non-blank raw value (to
    fill the form in again) and one message per item whose value is not accepted.
    Fields that are not vocabulary inputs are ignored.
    """
    vocab = model.vocabulary
    given: dict[str, Value] = {}
    raw: dict[str, str] = {}
    errors: dict[str, str] = {}
    for item in vocab.inputs:
        text = str(form.get(item, "")).strip()
        if not text:
            continue
        raw[item] = text
        try:
            value = vocab.parse(item, text)
        except HeelnetError as error:
            errors[item] = str(error)
            continue
        if value is not None:
            given[item] = value
    return given, raw, errors


def _ranked(model: ModelCore, ranked: Iterable[tuple[str, float]]) -> list[dict[str, Any]]:
    return [{"id": c, "meaning": model.vocabulary[c].meaning, "probability": p}
            for c, p in ranked]


def _explanation(model: ModelCore, given: Mapping[str, Value]) -> list[dict[str, Any]]:
    if not any(model.vocabulary.kind(item) == "finding" for item in given):
        return []
    out = []
    for item in explain(model, given):
        out.append({"id": item.condition, "meaning": item.meaning, "prior": item.prior,
                    "posterior": item.posterior,
                    "contributions": [{"id": c.id, "meaning": c.meaning, "value": c.value,
                                       "log_odds": c.log_odds, "odds_ratio": c.odds_ratio}
                                      for c in item.contributions]})
    return out


def results(model: ModelCore, given: Mapping[str, Value],
            errors: Mapping[str, str] | None = None,
            session: Interview | None = None) -> Results:
    """The results panel of ``given``: ranked conditions, triage, red flags, why, and
    what to ask next (the interview's next question, then the most informative ones).

    ``session`` is the interview when the page is one (its next question is shown);
    otherwise the answers are put to a fresh interview to find what it would ask.
    """
    diagnosis = model.diagnose(given)
    if session is None:
        session = Interview(model)
        for item, value in given.items():
            session.answer(item, value)
    first = session.next()
    unknown = {item for item, value in session.answers if value is None}
    suggestions = [{"id": q.id, "meaning": q.meaning, "gain": q.expected_gain, "p_yes": q.p_yes}
                   for q in next_questions(model, given, n=None)
                   if q.id not in unknown and (first is None or q.id != first.id)]
    return Results(
        ranked=_ranked(model, diagnosis.ranked), triage=diagnosis.triage,
        triage_meaning=model.vocabulary[diagnosis.triage].meaning,
        red_flags=diagnosis.red_flags, explanation=_explanation(model, given),
        ask_first=first, suggestions=suggestions[:SUGGESTED], errors=dict(errors or {}),
        given=dict(given), other_causes=_ranked(model, diagnosis.other_causes.items()))


def encode_answer(item: str, value: Value | None) -> str:
    """An answer as the ``id=value`` text an interview page carries."""
    if value is None:
        return f"{item}=unknown"
    if isinstance(value, bool):
        return f"{item}={'yes' if value else 'no'}"
    return f"{item}={value}"


def rebuild(model: ModelCore, carried: Iterable[str], max_questions: int | None = None
            ) -> tuple[Interview, str]:
    """An interview with the carried ``id=value`` answers replayed, and a message if one
    could not be read (the answers from there on are dropped)."""
    session = Interview(model, max_questions=max_questions)
    for text in carried:
        item, _, value = str(text).partition("=")
        try:
            session.answer(item.strip(), value)
        except HeelnetError as error:
            return session, f"An earlier answer could not be read ({error}); it was dropped."
    return session, ""


def answer_help(model: ModelCore, item: str) -> str:
    """What may be answered to ``item``, in words."""
    return accepted(model, item)
