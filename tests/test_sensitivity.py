"""sensitivity and sweeps: closed-form derivatives, agreement with edited tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model import Model
from model.sensitivity import sensitivity
from model.sweeps import _rates, scale_baseline, split_age_band, sweep, widen_age_window

from .priors_folder import model_from_texts

B, L, K = 0.2, 0.7, 0.05  # baseline of a, link a -> f, leak of f
ONE_LINK = {
    "vocabulary.csv": "kind,id,type,values,meaning\ncontext,age_years,int,0-120,Age\n"
    "finding,f,bool,,A finding\ncondition,a,bool,,A condition\n"
    "triage,see_doctor,level,,Visit\ntriage,self_care,level,,Home\n",
    "context.csv": "node,state,value,source_kind,source,derivation\n"
    "age_band,age_0_120,1.0,assumption,test,\n",
    "conditions.csv": f"condition,parent,state,value,source_kind,source,derivation\na,,,{B},assumption,test,\n",
    "likelihoods.csv": f"finding,condition,value,source_kind,source,derivation\nf,a,{L},assumption,test,\n",
    "leaks.csv": f"finding,value,source_kind,source,derivation\nf,{K},assumption,test,\n",
    "triage.csv": "rule,level,findings,condition,threshold,wording,source_kind,source,derivation\n",
}


@pytest.fixture(scope="module")
def one_link(tmp_path_factory) -> Model:
    return model_from_texts(tmp_path_factory.mktemp("one_link"), ONE_LINK)


def posterior(b=B, link=L, leak=K):
    """P(a | f = yes) in closed form."""
    q = 1 - (1 - leak) * (1 - link)
    return b * q / (b * q + (1 - b) * leak)


def test_closed_form_posteriors_and_derivatives(one_link):
    s = sensitivity(one_link, {"f": True}, step=0.1).table.set_index("table")
    q = 1 - (1 - K) * (1 - L)
    d = B * q + (1 - B) * K
    exact = {
        "condition_prior": q * K / d**2,
        "likelihood": B * (1 - B) * K / d**2 * (1 - K),
        "leak": (B * (1 - L) * d - B * q * (B * (1 - L) + 1 - B)) / d**2,
    }
    moved = {"condition_prior": "b", "likelihood": "link", "leak": "leak"}
    for table, derivative in exact.items():
        row = s.loc[table]
        assert row.posterior == pytest.approx(posterior(), abs=1e-12)
        assert row.derivative == pytest.approx(derivative, rel=1e-9)
        assert row.posterior_low == pytest.approx(posterior(**{moved[table]: row.value_low}), abs=1e-12)
        assert row.posterior_high == pytest.approx(posterior(**{moved[table]: row.value_high}), abs=1e-12)
        assert row.value_low == pytest.approx(0.9 * row.value) and row.value_high == pytest.approx(1.1 * row.value)
    # a prior of 1 for the only age band cannot move
    age = s.loc["context_prior"]
    assert age.value_low == age.value_high == 1.0 and np.isnan(age.derivative)


def test_derivative_agrees_with_a_small_central_difference(toy_model):
    case = {"pain": True, "sex": "male", "lump": False}
    coarse = sensitivity(toy_model, case, step=0.2).table
    fine = sensitivity(toy_model, case, step=1e-5).table
    # A difference over a step h carries rounding of about eps / h: h is down to 1e-7 here
    # (1e-5 of a leak of 0.01), so absolute agreement is only meaningful to ~1e-8.
    np.testing.assert_allclose(coarse.derivative, fine.swing / (fine.value_high - fine.value_low),
                               rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(coarse.derivative, fine.derivative, rtol=1e-6, atol=1e-8)


def edited_table(model, row, value):
    """The parameters table with one number set, as a researcher would (co-varying a
    many-state prior in proportion)."""
    table = model.parameters()
    at = ((table.table == row.table) & (table.node == row.node) & (table.parent == row.parent)
          & (table.parent_state == row.parent_state) & (table.state == row.state))
    assert at.sum() == 1
    if row.table == "context_prior":
        same_node = (table.table == "context_prior") & (table.node == row.node) & ~at
        table.loc[same_node, "value"] *= (1 - value) / (1 - row.value)
    table.loc[at, "value"] = value
    return table


def test_every_moved_number_matches_a_model_built_from_the_edited_table(toy_model):
    case = {"pain": True, "sex": "male", "age_years": 30}
    s = sensitivity(toy_model, case).table
    validated = [toy_model.vocabulary.validate(case)]
    for row in s.drop_duplicates("parameter").itertuples():
        for value, column in ((row.value_low, "posterior_low"), (row.value_high, "posterior_high")):
            rebuilt = Model.from_parameters(edited_table(toy_model, row, value),
                                            vocabulary=toy_model.vocabulary)
            expected = rebuilt.posteriors(validated)[0]
            got = s[s.parameter == row.parameter].set_index("condition")[column]
            np.testing.assert_allclose(got[list(toy_model.conditions)], expected, atol=1e-12)


def test_step_is_clipped_inside_the_allowed_range(toy_model):
    s = sensitivity(toy_model, {"pain": True}, step=0.5).table
    rr = s[(s.table == "risk_ratio") & (s.parent == "runner")].iloc[0]
    # baseline 0.1 x RR 3 x max(age RR 0.5, 1) reaches 1 at RR 10: step 0.5 (1.5) fits
    assert rr.value_high == pytest.approx(4.5)
    leak = s[(s.table == "likelihood") & (s.node == "pain") & (s.parent == "tear")].iloc[0]
    assert leak.value_high == pytest.approx(0.95) and leak.value_low == pytest.approx(0.85)


def test_ranked_and_tornado(toy_model):
    import matplotlib

    matplotlib.use("Agg")
    s = sensitivity(toy_model, {"pain": True, "lump": True})
    top = s.ranked("tear", n=3)
    assert len(top) == 3 and (top.condition == "tear").all()
    assert list(top.swing.abs()) == sorted(top.swing.abs(), reverse=True)
    ax = s.tornado("tear", n=5)
    assert len(ax.patches) == 10
    with pytest.raises(ValueError, match="unknown condition 'tearr'; did you mean 'tear'"):
        s.ranked("tearr")
    with pytest.raises(ValueError, match=r"'step' parameter of sensitivity must be a number in the range \(0, 1\); got 1.5"):
        sensitivity(toy_model, {}, step=1.5)


AGES = [0, 5, 7, 8, 12, 16, 17, 18, 30, 120, None]


def posteriors_by_age(model, **rest):
    cases = [{**rest, **({} if a is None else {"age_years": a})} for a in AGES]
    return model.posteriors([model.vocabulary.validate(c) for c in cases])


def test_splitting_an_age_band_changes_nothing(toy_model):
    split = Model.from_parameters(split_age_band(toy_model.parameters(), 8),
                                  vocabulary=toy_model.vocabulary)
    assert split.knowledge.context_states["age_band"] == ("age_0_7", "age_8_17", "age_18_120")
    np.testing.assert_allclose(posteriors_by_age(split, pain=True),
                               posteriors_by_age(toy_model, pain=True), atol=1e-12)


def test_widening_the_age_window_moves_only_the_new_years(toy_model):
    # tendon: age_18_120 is the window (risk ratio 1), age_0_17 has 0.5
    wide = Model.from_parameters(widen_age_window(toy_model.parameters(), "tendon", 1),
                                 vocabulary=toy_model.vocabulary)
    before = posteriors_by_age(toy_model, pain=True)
    after = posteriors_by_age(wide, pain=True)
    changed = [a for a, x, y in zip(AGES, before, after, strict=True) if not np.allclose(x, y)]
    assert changed == [17, None]  # the 17-year-olds, and hence the unknown-age mixture
    np.testing.assert_allclose(after[AGES.index(17)], before[AGES.index(30)], atol=1e-12)


def test_sweep_scores_each_edited_model(toy_model):
    cases = pd.DataFrame({
        "age_years": [30, 12, 50], "pain": ["yes", "yes", ""], "lump": ["yes", "", "no"],
        "expected_condition": ["tendon", "tear|tendon", "tear"],
        "expected_triage": ["see_doctor", "self_care", "emergency"],
    })
    plain = _rates(toy_model, cases)
    assert plain["n"] == 3 and 0 <= plain["top1"] <= plain["top3"] <= 1
    assert plain["under_triage"] == pytest.approx(1 / 3)  # the emergency case is not caught
    out = sweep(toy_model, cases, lambda t, f: scale_baseline(t, "tear", f), [0.5, 1.0, 2.0])
    assert list(out.value) == [0.5, 1.0, 2.0]
    assert out.iloc[1].drop("value").to_dict() == pytest.approx(plain)
