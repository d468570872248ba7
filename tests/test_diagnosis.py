"""Diagnosis with other causes: conditions of type ``other`` are never ranked.

``other_model`` (tests/other_causes.py) is the shipped priors with ``other_calf_cause``
(a painful or swollen calf that is not a clot) moved into the middle of the conditions.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.explain import explain
from model.scoring import score

from .other_causes import OTHER_CAUSE

#: The findings the calf's other cause is linked to (priors/likelihoods.csv).
CALF = ("calf_tenderness_or_swelling", "leg_swollen_one_side", "warmth", "swelling", "redness")
#: A case in which the other cause is the most probable condition node of all.
SWOLLEN_CALF = {"age_years": 50, "calf_tenderness_or_swelling": True}


def cases(findings: tuple[str, ...]) -> st.SearchStrategy[dict[str, object]]:
    """Random evidence, leaning on the other cause's findings so that it often leads."""
    calf = st.dictionaries(st.sampled_from(CALF), st.booleans(), max_size=len(CALF))
    rest = st.dictionaries(st.sampled_from(findings), st.booleans(), max_size=4)
    age = st.one_of(st.none(), st.integers(0, 120))
    return st.builds(lambda a, b, y: {**b, **a, **({} if y is None else {"age_years": y})},
                     calf, rest, age)


def test_the_fixture_has_an_other_cause_in_the_middle(other_model):
    vocab = other_model.vocabulary
    assert OTHER_CAUSE in other_model.other_causes == vocab.other_causes
    assert 0 < other_model.conditions.index(OTHER_CAUSE) < len(other_model.diagnoses)
    assert other_model.diagnoses == tuple(c for c in other_model.conditions
                                          if c not in other_model.other_causes)
    assert list(other_model.diagnosis_columns) == [
        other_model.conditions.index(c) for c in other_model.diagnoses]


def test_the_other_cause_leads_yet_is_never_ranked(other_model):
    """Not vacuous: the other cause is the most probable node, and still not ranked."""
    result = other_model.diagnose(SWOLLEN_CALF)
    post = other_model.posteriors([other_model.vocabulary.validate(SWOLLEN_CALF)])[0]
    assert other_model.conditions[int(post.argmax())] == OTHER_CAUSE
    assert result.other_causes[OTHER_CAUSE] == pytest.approx(post.max(), abs=1e-12)
    assert result.ranked[0][0] != OTHER_CAUSE
    assert OTHER_CAUSE in repr(result) and "other cause" in result._repr_html_()
    assert OTHER_CAUSE not in result.probabilities


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_other_causes_are_never_ranked_on_random_evidence(other_model, data):
    case = data.draw(cases(other_model.findings))
    result = other_model.diagnose(case)
    post = other_model.posteriors([other_model.vocabulary.validate(case)])[0]
    names = [c for c, _ in result.ranked]
    assert sorted(names) == sorted(other_model.diagnoses)
    assert [c for c, _ in result.top(3)] == names[:3]
    assert set(result.probabilities) == set(other_model.diagnoses)
    assert list(result.other_causes) == list(other_model.other_causes)
    probs = [p for _, p in result.ranked]
    assert probs == sorted(probs, reverse=True)
    assert probs[0] == pytest.approx(post[other_model.diagnosis_columns].max(), abs=1e-12)
    for cond, p in [*result.ranked, *result.other_causes.items()]:
        assert p == pytest.approx(post[other_model.conditions.index(cond)], abs=1e-12)
    assert OTHER_CAUSE not in [c.condition for c in explain(other_model, case)]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_score_never_puts_an_other_cause_in_the_top_three(other_model, data):
    import pandas as pd

    rows = [data.draw(cases(other_model.findings)) for _ in range(8)] + [SWOLLEN_CALF]
    frame = pd.DataFrame([{k: str(v) for k, v in row.items()} for row in rows])
    out = score(frame, other_model)
    assert (out["error"] == "").all()
    for i, row in enumerate(rows):
        result = other_model.diagnose(row)
        assert [out.loc[i, f"top{k}"] for k in (1, 2, 3)] == [c for c, _ in result.top(3)]
        assert out.loc[i, f"p_{OTHER_CAUSE}"] == pytest.approx(
            result.other_causes[OTHER_CAUSE], abs=1e-12)
    assert not out[["top1", "top2", "top3"]].isin(other_model.other_causes).to_numpy().any()


def test_score_lists_the_other_causes_after_the_diagnoses(other_model):
    import pandas as pd

    out = score(pd.DataFrame([{k: str(v) for k, v in SWOLLEN_CALF.items()}]), other_model,
                intervals=True, draws=20)
    p_columns = [c for c in out.columns if c.startswith("p_") and not c.endswith(("_low",
                                                                                  "_high"))]
    assert p_columns == [*(f"p_{c}" for c in other_model.diagnoses),
                         *(f"p_{c}" for c in other_model.other_causes), "p_none"]
    assert f"p_{OTHER_CAUSE}_low" in out.columns
    low, high = out.loc[0, f"p_{OTHER_CAUSE}_low"], out.loc[0, f"p_{OTHER_CAUSE}_high"]
    assert low <= out.loc[0, f"p_{OTHER_CAUSE}"] <= high
    assert out.loc[0, "top1"] != OTHER_CAUSE


def test_likelihood_ratio_works_for_and_with_an_other_cause(other_model):
    """The other cause is a node like any condition: its LR is the model's."""
    lr = other_model.likelihood_ratio(OTHER_CAUSE, {"leg_swollen_one_side": True})
    assert lr > 1
    dvt = other_model.likelihood_ratio("deep_vein_thrombosis", {"warmth": True},
                                       given={"calf_tenderness_or_swelling": True})
    assert np.isfinite(dvt) and dvt > 1
