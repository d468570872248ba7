"""Metrics against hand-computed values on a tiny table, and against scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, log_loss, top_k_accuracy_score

from model.metrics import Metrics, expected_calibration_error, reliability_bins, summarise

CONDITIONS = ("a", "b", "c", "d")
LEVELS = ("emergency", "see_doctor", "self_care")


def tiny() -> pd.DataFrame:
    """Five scored cases; the fourth has an error and must not count."""
    probs = [[0.7, 0.2, 0.1, 0.0], [0.3, 0.6, 0.1, 0.05], [0.2, 0.4, 0.5, 0.0],
             [np.nan] * 4, [0.05, 0.9, 0.01, 0.02]]
    frame = pd.DataFrame({
        "case_id": ["r1", "r2", "r3", "r4", "r5"],
        "top1": ["a", "b", "c", "", "b"],
        "top1_probability": [0.7, 0.6, 0.5, np.nan, 0.9],
        "top2": ["b", "a", "b", "", "a"],
        "top3": ["c", "c", "a", "", "d"],
        "triage": ["emergency", "self_care", "see_doctor", "", "emergency"],
        "error": ["", "", "", "'swelling' must be ...", ""],
        "expected_condition": ["a", "d", "a|b", "a", "b"],
        "expected_triage": ["emergency", "see_doctor", "emergency", "emergency", "self_care"],
    })
    for j, c in enumerate(CONDITIONS):
        frame[f"p_{c}"] = [row[j] for row in probs]
    return frame


@pytest.fixture()
def summary():
    return summarise(tiny(), CONDITIONS, LEVELS)


def test_accuracy_by_hand(summary):
    # r1 right at top-1; r2's d is not in its top 3; r3's a|b are 2nd and 3rd; r5 right
    assert (summary.rows, summary.errors, summary.with_condition) == (5, 1, 4)
    assert (summary.top1, summary.top3) == (2, 3)
    assert summary.top1_accuracy == 0.5 and summary.top3_accuracy == 0.75
    assert summary.mean_top1_probability == pytest.approx((0.7 + 0.6 + 0.5 + 0.9) / 4)


def test_recall_by_hand(summary):
    recall = summary.recall().set_index("condition")
    assert list(recall.index) == ["a", "b", "d"]  # c is never expected
    assert recall.loc["a", ["cases", "top1", "top3"]].tolist() == [2, 1, 2]
    assert recall.loc["b", ["cases", "top1", "top3"]].tolist() == [2, 1, 2]
    assert recall.loc["d", ["cases", "top1", "top3"]].tolist() == [1, 0, 0]


def test_triage_by_hand(summary):
    assert summary.confusion.tolist() == [[1, 1, 0], [0, 0, 1], [1, 0, 0]]
    assert (summary.with_triage, summary.triage_agreement) == (4, 1)
    assert (summary.under_triage, summary.over_triage) == (2, 1)
    assert summary.under_triage_of("emergency") == (1, 2)
    assert summary.under_triage_of("see_doctor") == (1, 1)
    # emergencies first
    assert summary.under_triaged == (("r3", "emergency", "see_doctor"),
                                     ("r2", "see_doctor", "self_care"))


def test_calibration_matches_scikit_learn(summary):
    frame = tiny().drop(index=3)
    p = frame[[f"p_{c}" for c in CONDITIONS]].to_numpy().ravel()
    y = np.array([[1, 0, 0, 0], [0, 0, 0, 1], [1, 1, 0, 0], [0, 1, 0, 0]]).ravel()
    assert summary.cells == 16
    assert summary.brier == pytest.approx(brier_score_loss(y, p))
    assert summary.log_loss == pytest.approx(log_loss(y, p))
    count, sum_p, sum_y = summary.bins
    filled = count > 0
    true, pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    np.testing.assert_allclose(sum_y[filled] / count[filled], true)
    np.testing.assert_allclose(sum_p[filled] / count[filled], pred)
    gaps = np.abs(sum_p - sum_y)
    assert summary.ece == pytest.approx(gaps.sum() / 16)


def test_ece_by_hand():
    # bin 1: predictions 0.1, 0.1, outcomes 0, 0 -> gap 0.1; bin 2: 0.8, 0.8 vs 1, 1 -> gap 0.2
    count, sum_p, sum_y = reliability_bins(np.array([0.1, 0.1, 0.8, 0.8]), np.array([0, 0, 1, 1]))
    assert expected_calibration_error(count, sum_p, sum_y) == pytest.approx((2 * 0.1 + 2 * 0.2) / 4)


@pytest.mark.parametrize("p", [0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0])
def test_bin_edges_match_scikit_learn(p):
    ps = np.array([p, 0.55])
    count, _, _ = reliability_bins(ps, np.array([1, 0]))
    _, pred = calibration_curve(np.array([1, 0]), ps, n_bins=10)
    assert count[count > 0].tolist() == [1, 1]
    np.testing.assert_allclose(np.sort(pred), np.sort(ps))


def test_top_k_agrees_with_scikit_learn():
    rng = np.random.default_rng(0)
    probs = rng.random((200, 4))
    expected = rng.integers(0, 4, 200)
    order = np.argsort(-probs, axis=1, kind="stable")
    names = np.array(CONDITIONS)
    frame = pd.DataFrame({"case_id": range(200), "error": "",
                          "top1_probability": probs.max(axis=1),
                          "expected_condition": names[expected]})
    for k in range(3):
        frame[f"top{k + 1}"] = names[order[:, k]]
    for j, c in enumerate(CONDITIONS):
        frame[f"p_{c}"] = probs[:, j]
    summary = summarise(frame, CONDITIONS, LEVELS)
    assert summary.top1 == top_k_accuracy_score(expected, probs, k=1, normalize=False)
    assert summary.top3 == top_k_accuracy_score(expected, probs, k=3, normalize=False)


def test_chunks_add_up_to_the_whole():
    whole = summarise(tiny(), CONDITIONS, LEVELS)
    metrics = Metrics(CONDITIONS, LEVELS)
    for start in range(0, 5, 2):
        metrics.update(tiny().iloc[start:start + 2])
    parts = metrics.summary()
    assert (parts.top1, parts.top3, parts.under_triage) == (whole.top1, whole.top3, whole.under_triage)
    assert parts.confusion.tolist() == whole.confusion.tolist()
    assert parts.brier == pytest.approx(whole.brier) and parts.ece == pytest.approx(whole.ece)


def test_summary_text_names_the_figures(summary):
    text = summary.full("tiny")
    assert "top-1 accuracy    2/4  50.0%" in text
    assert "top-3 accuracy    3/4  75.0%" in text
    assert "under-triage      2/4  50.0%  (emergency 1 of 2; see_doctor 1 of 1)" in text
    assert "over-triage       1/4  25.0%  (see_doctor 0 of 1; self_care 1 of 1)" in text
    assert "r3 (emergency -> see_doctor)" in text


def test_other_causes_are_never_counted():
    """An expected other cause is not a diagnosis: alone it counts as 'none' (calibration
    only), beside a diagnosis it is ignored; its p_ column is never read."""
    frame = tiny()
    frame["expected_condition"] = ["a", "other|d", "a|b", "a", "other"]
    frame["p_other"] = [0.9] * 5
    summary = summarise(frame, CONDITIONS, LEVELS, other_causes=("other",))
    assert (summary.with_condition, summary.with_none) == (3, 1)
    assert summary.cells == 4 * len(CONDITIONS)
    assert summary.per_condition["d"][0] == 1 and "other" not in summary.per_condition
    plain = tiny()
    plain["expected_condition"] = ["a", "d", "a|b", "a", "none"]
    same = summarise(plain, CONDITIONS, LEVELS)
    assert (same.with_condition, same.with_none, same.top1, same.top3, same.brier_sum) == (
        summary.with_condition, summary.with_none, summary.top1, summary.top3, summary.brier_sum)


def test_metrics_of_a_model_use_its_diagnoses(other_model):
    metrics = Metrics.of(other_model)
    assert metrics.conditions == other_model.diagnoses
    assert metrics.other_causes == frozenset(other_model.other_causes)
