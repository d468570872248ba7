"""One interview: ask the next best question, take the answer, stop when it is safe.

:class:`Interview` is driven by a program (the terminal, the web page, the replay):
``next()`` gives the question to ask (or ``None`` when done), ``answer(id, value)``
records an answer, ``undo()`` takes the last one back, ``done`` and ``result`` say
where it stands. Age and sex are asked first, as an intake; then
:func:`model.interview.policy.choose` picks each question. "Don't know" is an
answer: the item is not asked again and stays unknown (marginalised), never absent.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..checks import Interval, check_parameter
from ..errors import HeelnetError, InvalidValueError
from ..explain import Explanation, explain
from ..questions import lookahead, question
from ..vocabulary import Value
from .policy import LIMIT, Choice, Policy, choose

if TYPE_CHECKING:
    from ..diagnosis import Diagnosis, ModelCore

__all__ = ["DONT_KNOW", "INTAKE", "Interview", "InterviewQuestion", "InterviewResult", "accepted"]

#: Asked first, in this order, when the vocabulary has them; not counted as questions.
INTAKE = ("age_years", "sex")
#: Answers that mean "don't know" (any case), besides a blank or None.
DONT_KNOW = ("unknown", "don't know", "dont know", "?", "dk")
INTAKE_PURPOSE = "intake"


@dataclass(frozen=True, slots=True)
class InterviewQuestion:
    """The question an interview asks now.

    Attributes
    ----------
    id, meaning : str
        The vocabulary id and the question in plain words.
    purpose : str
        ``"intake"``, ``"warning sign"``, ``"most informative"`` or ``"settles the triage"``.
    reason : str
        Why it is asked, in words.
    type : str
        ``"bool"``, ``"int"`` (``age_years``) or ``"enum"`` (``sex``).
    answers : tuple of str
        What may be answered (``unknown`` always may).
    number : int
        1 for the first question after the intake (intake questions are numbered 0).
    expected_gain : float
        Expected information gain about the conditions, in bits (0 for the intake).
    p_yes : float or None
        P(yes | answers so far) for a yes/no item.
    """

    id: str
    meaning: str
    purpose: str
    reason: str
    type: str
    answers: tuple[str, ...]
    number: int
    expected_gain: float = 0.0
    p_yes: float | None = None

    def __str__(self) -> str:
        return f"{self.meaning} [{self.id}]"


@dataclass(frozen=True, slots=True)
class InterviewResult:
    """Where an interview stands: the diagnosis of the answers so far and how it got there.

    Attributes
    ----------
    diagnosis : Diagnosis
        Ranked conditions, triage and red flags of the answers given.
    answers : tuple of (id, value)
        Every answer in the order given, intake included; ``None`` is "don't know".
    questions_asked : int
        Answers after the intake (the intake is not counted).
    stopped : str
        Why the interview stopped (``"safe"``, ``"question limit"``, ``"nothing left to
        ask"``), or ``""`` while it goes on.
    """

    diagnosis: Diagnosis
    answers: tuple[tuple[str, Value | None], ...]
    questions_asked: int
    stopped: str

    @property
    def ranked(self) -> tuple[tuple[str, float], ...]:
        """Every diagnosis, most probable first (other causes are never ranked)."""
        return self.diagnosis.ranked

    @property
    def triage(self) -> str:
        """The triage level."""
        return self.diagnosis.triage

    @property
    def red_flags(self) -> tuple[str, ...]:
        """The warning signs that drove the triage, in words."""
        return self.diagnosis.red_flags

    @property
    def asked(self) -> tuple[str, ...]:
        """The ids asked after the intake, in order."""
        return tuple(item for item, _ in self.answers if item not in INTAKE)

    def explain(self, conditions: Sequence[str] | None = None, **options: Any) -> Explanation:
        """What each answer did to each top condition's odds (see :func:`model.explain`)."""
        return explain(self.diagnosis.model, self.diagnosis.findings, conditions, **options)

    def __str__(self) -> str:
        top = ", ".join(f"{c} {p:.1%}" for c, p in self.ranked[:3])
        state = f"stopped: {self.stopped}" if self.stopped else "going on"
        return (f"after {self.questions_asked} questions ({state}): {top}; "
                f"triage {self.triage}")

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(str(self))}</p>{self.diagnosis._repr_html_()}"


class Interview:
    """Ask the next best question, take answers, stop when it is safe.

    Parameters
    ----------
    model : ModelCore
        The model to reason with (:meth:`model.Model.interview` passes itself).
    max_questions : int or None
        Stop after this many questions (the intake not counted); ``None`` for no limit.
    policy : Policy, optional
        How cautious to be (see :mod:`model.interview.policy`).

    Examples
    --------
    >>> from model import Model
    >>> interview = Model.default().interview()
    >>> interview.next().id
    'age_years'
    >>> interview.answer("age_years", 35)
    >>> interview.answer("sex", "male")
    >>> interview.answer("pop_or_snap", "yes")
    >>> interview.answer("palpable_gap", "yes")
    >>> interview.result.triage, interview.result.ranked[0][0]
    ('emergency', 'achilles_rupture')
    >>> interview.result.questions_asked
    2
    >>> interview.undo()
    'palpable_gap'
    >>> question = interview.next()  # a pop alone leaves the emergency near its threshold
    >>> question.purpose, question.id
    ('settles the triage', 'severe_pain')
    """

    def __init__(self, model: ModelCore, *, max_questions: int | None = None,
                 policy: Policy | None = None) -> None:
        check_parameter("interview", "max_questions", max_questions, Interval(int, 0, None),
                        allow_none=True)
        if policy is not None and not isinstance(policy, Policy):
            raise HeelnetError(f"The 'policy' parameter of interview must be a Policy; "
                               f"got {type(policy).__name__}")
        self.model = model
        self.max_questions = max_questions
        self.policy = policy or Policy()
        self.intake = tuple(i for i in INTAKE if i in model.vocabulary.inputs)
        self._answers: list[tuple[str, Value | None]] = []
        self._step: tuple[InterviewQuestion | None, str] | None = None

    # state ------------------------------------------------------------------------
    @property
    def answers(self) -> tuple[tuple[str, Value | None], ...]:
        """Every answer so far, in order (``None`` is "don't know")."""
        return tuple(self._answers)

    @property
    def given(self) -> dict[str, Value]:
        """The known answers (not "don't know") as a findings mapping."""
        return {item: value for item, value in self._answers if value is not None}

    @property
    def questions_asked(self) -> int:
        """Answers after the intake."""
        return sum(item not in self.intake for item, _ in self._answers)

    @property
    def done(self) -> bool:
        """True when the interview has nothing more it needs to ask."""
        return self.next() is None

    @property
    def result(self) -> InterviewResult:
        """The diagnosis of the answers so far (final once :attr:`done`)."""
        _, stopped = self._decide()
        return InterviewResult(self.model.diagnose(self.given), self.answers,
                               self.questions_asked, stopped)

    # driving ----------------------------------------------------------------------
    def next(self) -> InterviewQuestion | None:
        """The question to ask now, or ``None`` when the interview is done."""
        return self._decide()[0]

    def answer(self, item: str, value: Any) -> None:
        """Record the answer to ``item``: yes/no (or True/False, 1/0), a whole number for
        ``age_years``, female/male for ``sex``, or ``unknown`` (also "don't know", ``?``,
        blank or None) when the person does not know.

        Raises
        ------
        UnknownIdError
            For an id that is not a context item or finding, with the closest ids.
        InvalidValueError
            For a value the item cannot take, saying what is accepted.
        HeelnetError
            For an item already answered (``undo()`` it first).
        """
        vocab = self.model.vocabulary
        vocab.check_input_id(item)
        if any(item == done for done, _ in self._answers):
            raise HeelnetError(f"'{item}' is already answered; undo() it first to change it")
        if isinstance(value, str) and value.strip().lower() in DONT_KNOW:
            parsed = None
        else:
            try:
                parsed = vocab.parse(item, value)
            except InvalidValueError:
                raise InvalidValueError(f"'{item}' must be {accepted(self.model, item)}; "
                                        f"got {value!r}") from None
        self._answers.append((item, parsed))
        self._step = None

    def undo(self) -> str | None:
        """Take back the last answer; return its id (``None`` when there was none)."""
        if not self._answers:
            return None
        self._step = None
        return self._answers.pop()[0]

    # the decision -----------------------------------------------------------------
    def _decide(self) -> tuple[InterviewQuestion | None, str]:
        if self._step is None:
            self._step = self._compute()
        return self._step

    def _compute(self) -> tuple[InterviewQuestion | None, str]:
        asked = {item for item, _ in self._answers}
        for item in self.intake:
            if item not in asked:
                return self._question(item, INTAKE_PURPOSE, "asked of everyone first", 0), ""
        if self.max_questions is not None and self.questions_asked >= self.max_questions:
            return None, LIMIT
        unknown = frozenset(item for item, value in self._answers if value is None)
        context, findings = self.model.encoding.encode([self.given])
        table = lookahead(self.model, context, findings, exclude=unknown)
        choice = choose(self.model, table, unknown, self.policy)
        if choice.item is None:
            return None, choice.purpose
        asked_as = question(self.model, table, choice.item, choice.gain)
        number = self.questions_asked + 1
        step = self._question(asked_as.id, choice.purpose, _reason(choice), number,
                              choice.gain, asked_as.p_yes)
        return step, ""

    def _question(self, item: str, purpose: str, reason: str, number: int,
                  gain: float = 0.0, p_yes: float | None = None) -> InterviewQuestion:
        var = self.model.vocabulary[item]
        answers = {"bool": ("yes", "no"), "int": var.values[:1]}.get(var.type, var.values)
        return InterviewQuestion(item, var.meaning, purpose, reason, var.type,
                                 (*answers, "unknown"), number, gain, p_yes)


def _reason(choice: Choice) -> str:
    worth = f"worth {choice.cost:.3g} questions"
    if choice.purpose == "warning sign":
        return (f"a warning sign: the answer could raise the triage to {choice.level} "
                f"(chance {choice.risk:.1%}; {worth})")
    if choice.purpose == "settles the triage":
        return (f"settles the triage: the answer could lower it (chance {choice.risk:.1%}; "
                f"{worth})")
    return (f"the question that most improves the chance of naming the right condition "
            f"({worth}); the leading condition could change (chance {choice.risk:.1%})")


def accepted(model: ModelCore, item: str) -> str:
    """What an interview accepts as the answer to ``item``, in words."""
    var = model.vocabulary[item]
    if var.type == "bool":
        return "yes or no (also true/false or 1/0), or unknown"
    if var.type == "int":
        low, high = var.values[0].split("-")
        return f"a whole number from {low} to {high}, or unknown"
    return ", ".join(f"'{v}'" for v in var.values) + " or unknown"
