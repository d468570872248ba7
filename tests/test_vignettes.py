"""Face validity from the seed text, and the golden baseline of its vignettes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from model import Model

from .vignettes import baseline_frame, case_inputs, text_vignettes

VIGNETTES = text_vignettes()
BASELINE = Path(__file__).parent / "baseline" / "text_vignettes.csv"


def test_at_least_two_vignettes_per_condition(model):
    counts = VIGNETTES.expected_condition.str.split("|").str[0].value_counts()
    assert all(counts.get(c, 0) >= 2 for c in model.conditions), counts


@pytest.mark.parametrize("case_id", VIGNETTES.case_id)
def test_expected_condition_in_top_3_and_triage(model, case_id):
    row = VIGNETTES.set_index("case_id").loc[case_id]
    result = model.diagnose(case_inputs(row, model))
    top3 = [c for c, _ in result.top(3)]
    expected = row["expected_condition"].split("|")
    assert set(expected) & set(top3), f"{case_id}: expected {expected}, top 3 were {result.top(3)}"
    assert result.triage == row["expected_triage"], f"{case_id}: {result!r}"


def test_golden_baseline(model):
    """Posteriors equal the stored baseline to 1e-9; rewrite it only with
    ``python tests/update_baseline.py`` and review the diff."""
    stored = pd.read_csv(BASELINE, dtype={"case_id": str, "triage": str})
    now = baseline_frame(Model.default())
    assert list(now.case_id) == list(stored.case_id), "the vignette set changed: update the baseline"
    assert list(now.triage) == list(stored.triage)
    columns = [c for c in stored.columns if c.startswith("p_")]
    assert columns == [c for c in now.columns if c.startswith("p_")]
    diff = (now[columns] - stored[columns]).abs().to_numpy().max()
    assert diff < 1e-9, f"posteriors moved by up to {diff:.3g} from the golden baseline"
