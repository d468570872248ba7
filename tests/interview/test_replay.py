"""Replay: rows are patients who answer only what their cells hold; output as score's."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model import HeelnetError, score
from model.cli import main
from model.interview.evaluation import evaluate_replay
from model.interview.replay import REPLAY_COLUMNS, interview_case, replay, replay_csv

CASES = pd.DataFrame({
    "case_id": ["rupture", "bad_age", "child", "bad_fever"],
    "age_years": ["35", "250", "11", "40"],
    "sex": ["male", "female", "female", ""],
    "sudden_onset": ["yes", "", "no", ""],
    "pop_or_snap": ["yes", "yes", "", ""],
    "palpable_gap": ["yes", "", "", ""],
    "weak_push_off": ["yes", "", "", ""],
    "jumping_sport": ["", "", "yes", ""],
    "pain_heel_back": ["", "", "yes", "yes"],
    "heel_squeeze_tender": ["", "", "yes", ""],
    "fever": ["", "", "", "maybe"],
    "expected_condition": ["achilles_rupture", "achilles_rupture", "severs_disease", "gout"],
    "expected_triage": ["emergency", "emergency", "self_care", "see_doctor"],
})


@pytest.fixture(scope="module")
def replayed(model) -> pd.DataFrame:
    return replay(CASES, model)


def test_output_is_scores_plus_two_columns(model, replayed):
    scored = score(CASES, model)
    assert list(replayed.columns) == [*scored.columns, *REPLAY_COLUMNS]
    assert list(replayed["case_id"]) == list(CASES["case_id"])
    assert list(replayed["error"]) == list(scored["error"])  # the same per-row errors


def test_bad_rows_get_their_error_and_the_rest_are_interviewed(replayed):
    bad = replayed.set_index("case_id").loc[["bad_age", "bad_fever"]]
    assert bad.loc["bad_age", "error"] == ("'age_years' must be a whole number from 0 to 120; "
                                          "got '250'")
    assert "'fever' must be yes/no" in bad.loc["bad_fever", "error"]
    assert bad["questions_asked"].isna().all() and (bad["asked"] == "").all()
    assert bad["top1"].eq("").all()


def test_rupture_row(replayed):
    row = replayed.set_index("case_id").loc["rupture"]
    assert row["top1"] == "achilles_rupture" and row["triage"] == "emergency"
    asked = row["asked"].split("|")
    assert row["questions_asked"] == len(asked) and "age_years" not in asked
    assert len(set(asked)) == len(asked)


def test_a_row_is_scored_on_exactly_what_its_interview_asked(model, replayed):
    """The probabilities are those of the cells the interview asked (blank = not asked)."""
    row = replayed.set_index("case_id").loc["child"]
    asked = set(row["asked"].split("|")) | {"age_years", "sex"}
    case = CASES.set_index("case_id").loc["child"]
    known = {k: v for k, v in case.items() if k in asked and v != "" and k in model.vocabulary}
    expected = model.diagnose(known).probabilities
    got = {c: row[f"p_{c}"] for c in model.diagnoses}
    assert got == pytest.approx(expected, abs=1e-12)
    session = interview_case(model, model.vocabulary.validate(
        {k: v for k, v in case.items() if k in model.vocabulary}))
    assert "|".join(session.result.asked) == row["asked"]


def test_max_questions_limits_every_row(model):
    out = replay(CASES, model, max_questions=2)
    ok = out["error"] == ""
    assert (out.loc[ok, "questions_asked"] <= 2).all()
    assert (out.loc[ok, "asked"].str.count(r"\|") <= 1).all()


def test_csv_round_trip_and_the_cli(tmp_path, model, capsys):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    CASES.to_csv(source, index=False)
    replay_csv(source, target, model, max_questions=3)
    written = pd.read_csv(target, dtype=str, keep_default_na=False)
    assert list(written.columns)[-2:] == list(REPLAY_COLUMNS)
    assert written.loc[0, "questions_asked"] == "3" and written.loc[0, "top1"] != ""
    assert written.loc[1, "questions_asked"] == "" and written.loc[1, "error"] != ""
    assert main(["interview", "--replay", str(source), "-o", str(tmp_path / "cli.csv"),
                 "--max-questions", "3"]) == 0
    assert (tmp_path / "cli.csv").read_text() == target.read_text()
    assert "wrote" in capsys.readouterr().out


def test_a_bad_header_leaves_the_output_untouched(tmp_path, capsys):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    CASES.rename(columns={"fever": "fevr"}).to_csv(source, index=False)
    target.write_text("old")
    assert main(["interview", "--replay", str(source), "-o", str(target)]) == 1
    assert "did you mean 'fever'" in capsys.readouterr().err
    assert target.read_text() == "old"


def test_a_kept_column_may_not_clash_with_the_replay_columns(model):
    with pytest.raises(HeelnetError, match="column 'asked' is written by the replay"):
        replay(CASES.assign(asked="x"), model, keep=["asked"])


def test_cli_needs_an_output_or_a_report(tmp_path, capsys):
    assert main(["interview", "--replay", "x.csv"]) == 1
    assert main(["interview", "-o", "x.csv"]) == 1
    assert main(["interview", "--max-questions", "-2"]) == 1
    err = capsys.readouterr().err
    assert "--replay needs -o OUT.csv" in err and "-o goes with --replay" in err
    assert "--max-questions must be a whole number of 0 or more" in err


def test_evaluation_budgets_and_report(tmp_path, model):
    source = tmp_path / "in.csv"
    CASES.to_csv(source, index=False)
    evaluation = evaluate_replay(source, model, target=tmp_path / "out.csv")
    ok = 2
    assert len(evaluation.questions) == ok and evaluation.interview.rows == len(CASES)
    full = score(CASES, model)
    assert evaluation.full.top1 == int((full["top1"] == CASES["expected_condition"]).sum())
    last = evaluation.budgets[-1]
    assert last[0] == evaluation.questions.max() and last[1] == 0
    # after all its questions, every case is scored as the replay scored it
    assert last[2].top1 == evaluation.interview.top1
    assert np.array_equal(last[2].confusion, evaluation.interview.confusion)
    assert [b[0] for b in evaluation.budgets] == list(range(len(evaluation.budgets)))
    still = [b[1] for b in evaluation.budgets]
    assert still == sorted(still, reverse=True)
    goals = evaluation.goals()
    assert goals[0][0].startswith("median questions") and len(goals) == 3
    assert (tmp_path / "out.csv").is_file()

    report = tmp_path / "report"
    assert main(["interview", "--replay", str(source), "--report", str(report)]) == 0
    text = (report / "interview_report.md").read_text()
    assert "| top-1 accuracy |" in text and "| k | still asking |" in text
    assert "full vignette" in text and "not a medical device" in text
    assert (report / "in_csv_interview.png").read_bytes()[:4] == b"\x89PNG"


def test_bundled_files_replay_without_errors(model):
    """A handful of rows of each bundled set (the whole sets are in the report)."""
    for name in ("text_vignettes.csv", "simulated_vignettes.csv"):
        with resources.as_file(resources.files("model.data") / name) as path:
            cases = pd.read_csv(Path(path), dtype=str, keep_default_na=False).head(4)
        out = replay(cases, model, keep=["source"] if "source" in cases else ())
        assert (out["error"] == "").all() and (out["questions_asked"] > 0).all()
