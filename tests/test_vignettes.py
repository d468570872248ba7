"""Face validity from the seed text and from the mimic cases (published cases and
guidelines), the golden baselines of both vignette sets, and the form (not the accuracy)
of the case-report set."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from model import Model

from .vignettes import HAND_WRITTEN, baseline_frame, case_inputs, vignettes

VIGNETTES = pd.concat([vignettes(name) for name in HAND_WRITTEN], ignore_index=True)
BASELINES = Path(__file__).parent / "baseline"


def test_case_ids_are_unique_across_the_sets():
    assert VIGNETTES.case_id.is_unique


def test_at_least_two_vignettes_per_condition(model):
    counts = VIGNETTES.expected_condition.str.split("|").str[0].value_counts()
    assert all(counts.get(c, 0) >= 2 for c in model.diagnoses), counts


@pytest.mark.parametrize("case_id", VIGNETTES.case_id)
def test_expected_condition_in_top_3_and_triage(model, case_id):
    row = VIGNETTES.set_index("case_id").loc[case_id]
    result = model.diagnose(case_inputs(row, model))
    top3 = [c for c, _ in result.top(3)]
    expected = row["expected_condition"].split("|")
    assert set(expected) & set(top3), f"{case_id}: expected {expected}, top 3 were {result.top(3)}"
    assert result.triage == row["expected_triage"], f"{case_id}: {result!r}"


def moved(stored: pd.DataFrame, now: pd.DataFrame, tolerance: float = 1e-9) -> pd.DataFrame:
    """What moved from the baseline: one row per (case, condition) beyond ``tolerance``,
    and one per changed triage, largest first (covasim's baseline test prints the same)."""
    columns = [c for c in stored.columns if c.startswith("p_")]
    old = stored.set_index("case_id")[columns].stack()
    new = now.set_index("case_id")[columns].stack()
    table = pd.DataFrame({"old": old, "new": new})
    table["difference"] = table.new - table.old
    table = table[table.difference.abs() > tolerance]
    triage = stored.set_index("case_id").triage.to_frame("old").join(
        now.set_index("case_id").triage.rename("new"))
    triage = triage[triage.old != triage.new].assign(difference=float("nan"))
    triage.index = pd.MultiIndex.from_product([triage.index, ["triage"]])
    out = pd.concat([table.sort_values("difference", key=abs, ascending=False), triage])
    out.index.names = ["case", "condition"]
    return out


@pytest.mark.parametrize("name", HAND_WRITTEN)
def test_golden_baseline(model, name):
    """Posteriors equal the stored baseline to 1e-9 and triage is unchanged; rewrite it
    only with ``python tests/update_baseline.py`` and review the diff."""
    stored = pd.read_csv(BASELINES / name, dtype={"case_id": str, "triage": str})
    now = baseline_frame(Model.default(), name)
    assert list(now.case_id) == list(stored.case_id), "the vignette set changed: update the baseline"
    assert [c for c in stored.columns if c.startswith("p_")] == \
        [c for c in now.columns if c.startswith("p_")], "the conditions changed: update the baseline"
    changes = moved(stored, now)
    assert changes.empty, "moved from the golden baseline:\n" + changes.to_string(
        float_format=lambda x: f"{x:.6g}")


def test_the_baseline_report_names_what_moved():
    stored = pd.DataFrame({"case_id": ["a", "b"], "triage": ["self_care", "emergency"],
                           "p_x": [0.1, 0.2], "p_y": [0.3, 0.4]})
    now = stored.assign(p_y=[0.3, 0.45], triage=["see_doctor", "emergency"])
    table = moved(stored, now)
    assert list(table.index) == [("b", "p_y"), ("a", "triage")]
    assert table.loc[("b", "p_y"), "difference"] == pytest.approx(0.05)
    assert table.loc[("a", "triage"), "new"] == "see_doctor"


def test_seed_text_vignettes_quote_the_seed(seed_text):
    """Each seed-text vignette's ``source`` is a verbatim quote (white space aside)."""
    seed = " ".join(seed_text.split())
    text = vignettes("text_vignettes.csv")
    missing = [r.case_id for r in text.itertuples() if " ".join(r.source.split()) not in seed]
    assert not missing, f"sources not found verbatim in the seed: {missing}"


def test_mimic_vignettes_cite_a_published_source():
    """Mimic cases are outside the seed: each cites a guideline or paper with its year."""
    mimic = vignettes("mimic_vignettes.csv")
    assert mimic.source.str.contains(r"(?:19|20)\d\d").all()


CASE_REPORTS = "case_report_vignettes.csv"


def test_case_report_vignettes_have_the_mimic_columns():
    """The case-report set uses exactly the columns (and order) of the mimic set."""
    assert list(vignettes(CASE_REPORTS).columns) == list(vignettes("mimic_vignettes.csv").columns)


def test_case_report_vignettes_cite_a_url_and_a_year():
    """Each published patient cites where it was read (a URL) and the year of the report."""
    reports = vignettes(CASE_REPORTS)
    assert reports.source.str.contains(r"https?://\S+").all()
    assert reports.source.str.contains(r"(?:19|20)\d\d").all()
    assert (reports.notes.str.len() > 0).all()


def test_case_report_ids_are_unique_and_apart_from_the_other_sets():
    reports = vignettes(CASE_REPORTS)
    assert reports.case_id.str.fullmatch(r"cr\d\d").all()
    assert reports.case_id.is_unique
    assert not set(reports.case_id) & set(VIGNETTES.case_id)


def test_case_report_expectations_are_model_ids(model):
    reports = vignettes(CASE_REPORTS)
    named = {c for cell in reports.expected_condition for c in cell.split("|")}
    assert named <= set(model.conditions), named - set(model.conditions)
    assert set(reports.expected_triage) <= set(model.vocabulary.triage_levels)


def test_case_report_vignettes_score_without_errors(model):
    """Every id and value is valid: the scorer reads every row with no error. Accuracy on
    this set is a measurement (README), not a target, so it is not asserted here."""
    reports = vignettes(CASE_REPORTS)
    scored = model.score(reports)
    assert len(scored) == len(reports)
    assert (scored["error"].fillna("") == "").all(), scored.loc[scored["error"] != "", "error"]
