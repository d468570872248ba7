"""python -m model interview in the terminal, typed answers read from stdin."""

from __future__ import annotations

import io

from model.cli import main


def converse(monkeypatch, capsys, typed: str, *argv: str) -> str:
    monkeypatch.setattr("sys.stdin", io.StringIO(typed))
    assert main(["interview", *argv]) == 0
    return capsys.readouterr().out


def test_rupture_story_typed_in_the_terminal(monkeypatch, capsys, model):
    # age, sex, then "yes" to the rupture signs and "?" to everything else
    story = {"pop_or_snap", "palpable_gap", "weak_push_off", "sudden_onset"}
    session = model.interview()
    typed = []
    for item, value in (("age_years", "35"), ("sex", "male")):
        session.answer(item, value)
        typed.append(value)
    while (question := session.next()) is not None:
        answer = "y" if question.id in story else "?"
        session.answer(question.id, "yes" if answer == "y" else "unknown")
        typed.append(answer)
    out = converse(monkeypatch, capsys, "\n".join(typed) + "\n")
    assert "Intake: Age in whole years?" in out and "Question 1 (warning sign)" in out
    assert f"After {session.questions_asked} questions. No unanswered question is worth asking" in out
    ranked = out.split("After ")[-1].splitlines()
    assert ranked[2].split()[0] == "achilles_rupture"  # first of the ranked list
    assert "Triage: emergency" in out and "Why:" in out and "not a medical device" in out


def test_bad_answers_are_asked_again_and_undo_and_quit_work(monkeypatch, capsys):
    out = converse(monkeypatch, capsys, "250\n35\nu\n40\nx\nfemale\nq\n", "--max-questions", "3")
    assert "'age_years' must be a whole number from 0 to 120, or unknown; got '250'" in out
    assert "(took back the answer to age_years)" in out
    assert "'sex' must be 'female', 'male' or unknown; got 'x'" in out
    assert "stopped before the interview was complete" in out
    assert "After 0 questions" in out and "Triage:" in out


def test_end_of_input_stops_and_shows_the_result(monkeypatch, capsys):
    out = converse(monkeypatch, capsys, "")
    assert "stopped before the interview was complete" in out and "Triage: self_care" in out


def test_a_limit_ends_the_interview(monkeypatch, capsys):
    out = converse(monkeypatch, capsys, "30\nfemale\n?\n?\n", "--max-questions", "2")
    assert "After 2 questions. The question limit was reached." in out
