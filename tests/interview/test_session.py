"""Model.interview(): the object a program drives (next, answer, undo, done, result)."""

from __future__ import annotations

import pytest

from model import HeelnetError, InvalidValueError, Model, UnknownIdError
from model.interview import Interview, Policy
from model.interview.replay import interview_case

RUPTURE = {"age_years": 35, "sex": "male", "sudden_onset": True, "pop_or_snap": True,
           "palpable_gap": True, "weak_push_off": True, "pain_above_heel": True}


def run(session: Interview, answers: dict) -> list[str]:
    asked = []
    while (question := session.next()) is not None:
        asked.append(question.id)
        session.answer(question.id, answers.get(question.id))
    return asked


def test_intake_comes_first_and_is_not_counted(model):
    session = model.interview()
    first = session.next()
    assert (first.id, first.purpose, first.number, first.type) == ("age_years", "intake", 0, "int")
    session.answer("age_years", "35")
    second = session.next()
    assert (second.id, second.purpose, second.answers) == ("sex", "intake",
                                                           ("female", "male", "unknown"))
    session.answer("sex", "unknown")
    assert session.questions_asked == 0
    third = session.next()
    assert third.number == 1 and third.purpose != "intake"
    assert third.answers == ("yes", "no", "unknown") and 0 <= third.p_yes <= 1


def test_rupture_story_ends_in_rupture_and_emergency(model):
    session = model.interview()
    asked = run(session, RUPTURE)
    result = session.result
    assert session.done and result.stopped == "safe"
    assert result.ranked[0][0] == "achilles_rupture" and result.triage == "emergency"
    assert result.red_flags and result.questions_asked == len(asked) - 2
    assert result.asked == tuple(asked[2:])
    # the explanation covers the answers that were yes or no
    why = result.explain()["achilles_rupture"]
    assert {c.id for c in why.contributions} <= set(session.given)


def test_warning_signs_come_before_anything_else(model):
    """With only age and sex known, the first questions are warning signs, and each one
    could raise the triage according to the model's own rules."""
    session = model.interview()
    session.answer("age_years", 40)
    session.answer("sex", "female")
    question = session.next()
    assert question.purpose == "warning sign"
    base = model.diagnose(session.given).triage
    raised = model.diagnose({**session.given, question.id: True}).triage
    levels = model.triage_rules.levels
    assert levels.index(raised) < levels.index(base)


def test_dont_know_is_an_answer_not_a_failure(model):
    session = model.interview(max_questions=4)
    asked = run(session, {"age_years": 50})
    assert len(asked) == 2 + 4 and len(set(asked)) == len(asked)  # nothing asked twice
    result = session.result
    assert result.stopped == "question limit"
    assert session.given == {"age_years": 50}  # "don't know" never becomes "no"
    assert [v for _, v in result.answers].count(None) == 5


@pytest.mark.parametrize("word", ["unknown", "Don't know", "?", None, "", "  "])
def test_every_way_of_saying_dont_know(model, word):
    session = model.interview()
    session.answer("fever", word)
    assert session.answers == (("fever", None),) and session.given == {}


def test_undo_takes_back_the_last_answer_and_the_question_comes_back(model):
    session = model.interview()
    session.answer("age_years", 35)
    session.answer("sex", "male")
    question = session.next()
    session.answer(question.id, "yes")
    assert session.undo() == question.id
    assert session.next().id == question.id
    assert session.undo() == "sex" and session.undo() == "age_years" and session.undo() is None
    assert session.next().id == "age_years"


def test_answers_may_be_volunteered_and_the_result_is_the_diagnosis(model):
    session = model.interview()
    for item, value in RUPTURE.items():
        session.answer(item, value)
    assert session.result.diagnosis.probabilities == model.diagnose(RUPTURE).probabilities
    assert session.done  # nothing could raise an emergency; the rupture is clear


def test_bad_answers_are_clear_errors(model):
    session = model.interview()
    with pytest.raises(InvalidValueError, match=r"'age_years' must be a whole number from 0 to "
                                                r"120, or unknown; got 250"):
        session.answer("age_years", 250)
    with pytest.raises(InvalidValueError, match=r"'fever' must be yes or no .*or unknown; "
                                                r"got 'maybe'"):
        session.answer("fever", "maybe")
    with pytest.raises(InvalidValueError, match=r"'sex' must be 'female', 'male' or unknown"):
        session.answer("sex", "x")
    with pytest.raises(UnknownIdError, match="did you mean 'pain_heel_back'"):
        session.answer("pain_heal_back", "yes")
    session.answer("fever", "no")
    with pytest.raises(HeelnetError, match="'fever' is already answered; undo"):
        session.answer("fever", "yes")
    assert session.answers == (("fever", False),)


def test_bad_settings_are_clear_errors(model):
    with pytest.raises(HeelnetError, match="'max_questions' parameter of interview"):
        model.interview(max_questions=-1)
    with pytest.raises(HeelnetError, match="'missed_emergency' parameter of Policy"):
        Policy(missed_emergency=0)
    with pytest.raises(HeelnetError, match="'wrong_leader' parameter of Policy"):
        Policy(wrong_leader=-1)
    with pytest.raises(HeelnetError, match="must be a Policy"):
        Interview(model, policy="careful")  # type: ignore[arg-type]


def test_a_limit_of_zero_asks_only_the_intake(model):
    session = model.interview(max_questions=0)
    assert run(session, RUPTURE) == ["age_years", "sex"]
    assert session.result.stopped == "question limit"


def test_a_more_cautious_policy_asks_at_least_as_many_warning_signs(model):
    case = {"age_years": 30, "sex": "female", "pain_sole_arch": True,
            "morning_first_step_pain": True}
    relaxed = interview_case(model, case, policy=Policy(missed_emergency=2, under_triage=2))
    careful = interview_case(model, case, policy=Policy(missed_emergency=1e4, under_triage=1e3))
    assert careful.questions_asked >= relaxed.questions_asked


def test_works_on_any_knowledge_base(toy_model):
    """Nothing is written against particular ids: the toy model's rules and vocabulary."""
    session = toy_model.interview()
    asked = run(session, {"age_years": 40, "sex": "male", "pain": True, "lump": True})
    assert asked[:2] == ["age_years", "sex"]
    assert session.done and session.result.triage in toy_model.triage_rules.levels


def test_model_interview_is_a_method(model):
    assert isinstance(Model.default().interview(), Interview)
    assert model.interview(max_questions=3).max_questions == 3
