"""Posterior intervals: draws match the ranges, a closed form, coverage, reproducibility."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model import Model, diagnose, score
from model.cli import main
from model.simulate import draw_findings, draw_truth
from model.uncertainty import Z, draw_networks, draw_numbers, posterior_intervals

from .priors_folder import model_from_texts

TOY = Path(__file__).parent / "toy_priors"
B, L, K = 0.2, 0.7, 0.05  # baseline of a, link a -> f, leak of f
ONE_LINK = {
    "vocabulary.csv": "kind,id,type,values,meaning\ncontext,age_years,int,0-120,Age\n"
    "finding,f,bool,,A finding\ncondition,a,bool,,A condition\n"
    "triage,see_doctor,level,,Visit\ntriage,self_care,level,,Home\n",
    "context.csv": "node,state,value,source_kind,source,derivation\n"
    "age_band,age_0_120,1.0,assumption,test,\n",
    "conditions.csv": "condition,parent,state,value,source_kind,source,derivation,low,high\n"
    f"a,,,{B},assumption,test,,0.1,0.3\n",
    "likelihoods.csv": "finding,condition,value,source_kind,source,derivation,low,high\n"
    f"f,a,{L},assumption,test,,{L},{L}\n",
    "leaks.csv": f"finding,value,source_kind,source,derivation,low,high\nf,{K},assumption,test,,{K},{K}\n",
    "triage.csv": "rule,level,findings,condition,threshold,wording,source_kind,source,derivation\n",
}


@pytest.fixture(scope="module")
def one_link(tmp_path_factory) -> Model:
    return model_from_texts(tmp_path_factory.mktemp("one_link"), ONE_LINK)


def posterior(b):
    q = 1 - (1 - K) * (1 - L)
    return b * q / (b * q + (1 - b) * K)


def test_split_normal_draws_have_their_range_as_central_90_percent():
    rng = np.random.default_rng(1)
    value = np.array([0.003, 0.75, 2.0, 0.4])
    low, high = np.array([0.001, 0.5, 1.0, 0.35]), np.array([0.0089, 0.9, 6.0, 0.6])
    ratio = np.array([False, False, True, False])
    x = draw_numbers(value, low, high, ratio, rng.standard_normal((200_000, 4)))
    q05, q50, q95 = np.quantile(x, [0.05, 0.5, 0.95], axis=0)
    assert q05 == pytest.approx(low, rel=0.01)
    assert q50 == pytest.approx(value, rel=0.01)
    assert q95 == pytest.approx(high, rel=0.01)


def test_a_bound_at_a_natural_limit_is_drawn_on_the_plain_scale():
    z = np.array([[-Z], [0.0], [Z], [-3 * Z]])
    x = draw_numbers(np.array([0.2]), np.array([0.0]), np.array([0.5]), np.array([False]), z)
    assert x[:, 0].tolist() == pytest.approx([0.0, 0.2, 0.5, 0.0])


def test_closed_form_one_uncertain_baseline(one_link):
    """Only the baseline is uncertain and the posterior rises with it, so the interval is
    the posterior at the 5th and 95th percentile of the baseline's draws: ~ its low and high."""
    ctx, fnd = one_link.encoding.encode([{"f": True}])
    low, high = posterior_intervals(one_link, ctx, fnd, draws=4000)
    assert low[0, 0] == pytest.approx(posterior(0.1), rel=0.03)
    assert high[0, 0] == pytest.approx(posterior(0.3), rel=0.03)
    nets = draw_networks(one_link.knowledge, one_link.tables, 4000, np.random.default_rng(0))
    baselines = np.array([float(n.condition_tables[0]) for n in nets])
    assert np.quantile(baselines, [0.05, 0.95]) == pytest.approx([0.1, 0.3], rel=0.03)
    assert all(np.array_equal(n.link, one_link.tables.link) for n in nets[:50])


def test_zero_width_ranges_give_the_point_posterior(toy_model):
    table = toy_model.parameters()
    numbers = table.table != "triage_rule"
    table.loc[numbers, "low"] = table.loc[numbers, "value"]
    table.loc[numbers, "high"] = table.loc[numbers, "value"]
    table["range_rule"] = ""
    fixed = Model.from_parameters(table, toy_model.vocabulary)
    ctx, fnd = fixed.encoding.encode([{"pain": True, "lump": False}, {"age_years": 12}])
    low, high = posterior_intervals(fixed, ctx, fnd, draws=50)
    p = fixed.infer(ctx, fnd)
    assert np.allclose(low, p, rtol=1e-12) and np.allclose(high, p, rtol=1e-12)


def test_draws_keep_every_table_valid(model):
    nets = draw_networks(model.knowledge, model.tables, 200, np.random.default_rng(5))
    for net in nets:
        assert all((t >= 0).all() and (t <= 1).all() for t in net.condition_tables)
        assert all(np.allclose(t.sum(axis=-1), 1) for t in net.context_tables)
        assert ((net.link > 0) == (model.tables.link > 0)).all()
        assert (net.leak < 1).all()


def test_same_seed_same_interval_other_seed_close(model):
    case = {"pain_heel_back": True, "palpable_gap": True}
    a = diagnose(case, intervals=True, draws=300).intervals
    b = model.diagnose(case, intervals=True, draws=300).intervals
    c = model.diagnose(case, intervals=True, draws=300, seed=1).intervals
    assert a == b
    assert a != c
    assert c["achilles_rupture"] == pytest.approx(a["achilles_rupture"], abs=0.08)


def test_coverage_when_the_true_numbers_come_from_the_ranges(toy_model):
    """The true model's posterior falls in the 90 % interval about 90 % of the time."""
    rng = np.random.default_rng(11)
    truths = draw_networks(toy_model.knowledge, toy_model.tables, 500, rng)
    engines = toy_model.engine.refill_many(truths)
    context, findings, inside = [], [], []
    for net in truths:
        ctx, truth = draw_truth(net, 1, rng)
        context.append(ctx[0])
        findings.append(draw_findings(net, truth, rng)[0])
    context, findings = np.array(context), np.array(findings, dtype=np.int8)
    low, high = posterior_intervals(toy_model, context, findings, draws=300)
    for i, engine in enumerate(engines):
        p = engine.posteriors(context[i:i + 1], findings[i:i + 1])[0]
        inside.append((low[i] <= p) & (p <= high[i]))
    coverage = np.mean(inside)
    assert 0.85 <= coverage <= 0.95, coverage


def test_diagnosis_carries_and_shows_its_intervals(model):
    case = {"pop_or_snap": True, "palpable_gap": True}
    plain = diagnose(case)
    assert plain.intervals is None
    result = diagnose(case, intervals=True)
    assert set(result.intervals) == set(model.conditions)
    for condition, p in result.probabilities.items():
        low, high = result.intervals[condition]
        assert 0 <= low <= high <= 1
        assert low - 1e-12 <= p <= high + 1e-12
    low, high = result.intervals["achilles_rupture"]
    assert f"achilles_rupture {result.probabilities['achilles_rupture']:.3f} ({low:.3f}-{high:.3f})" in repr(result)
    assert "90% range" in result._repr_html_() and "90% range" not in plain._repr_html_()
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.intervals = None  # type: ignore[misc]


def test_drivers_of_an_interval_come_from_sensitivity(one_link):
    result = one_link.diagnose({"f": True}, intervals=True)
    drivers = result.interval_drivers("a", n=3)
    assert drivers.parameter.iloc[0] == "baseline P(a)"  # the only number with a range
    assert drivers.range_swing.iloc[0] == pytest.approx(drivers.derivative.iloc[0] * 0.2)
    assert (drivers.range_swing.iloc[1:] == 0).all()


def test_score_adds_interval_columns(model):
    cases = pd.DataFrame({"age_years": ["11", "250", ""], "heel_squeeze_tender": ["yes", "yes", ""],
                          "palpable_gap": ["", "", "yes"]})
    out = score(cases, intervals=True, draws=100)
    plain = score(cases)
    assert list(out.columns[:len(plain.columns) - 1]) == list(plain.columns[:-1])
    for c in model.conditions:
        p, low, high = out[f"p_{c}"], out[f"p_{c}_low"], out[f"p_{c}_high"]
        ok = out.error == ""
        assert ((low[ok] <= p[ok] + 1e-12) & (p[ok] <= high[ok] + 1e-12)).all()
        assert low[~ok].isna().all()
    one = posterior_intervals(model, *model.encoding.encode([{"palpable_gap": True}]), draws=100)
    j = model.conditions.index("achilles_rupture")
    assert out.loc[2, "p_achilles_rupture_low"] == one[0][0, j]


def test_cli_score_and_diagnose_show_intervals(tmp_path, capsys):
    source = tmp_path / "in.csv"
    pd.DataFrame({"pain": ["yes", "no"], "lump": ["yes", ""]}).to_csv(source, index=False)
    target = tmp_path / "out.csv"
    assert main(["score", str(source), "-o", str(target), "--priors", str(TOY), "--intervals",
                 "--draws", "50", "--quiet"]) == 0
    out = pd.read_csv(target)
    assert {"p_tendon_low", "p_tendon_high", "p_tear_low", "p_tear_high"} <= set(out.columns)
    assert main(["diagnose", "pain=yes", "--priors", str(TOY), "--intervals"]) == 0
    printed = capsys.readouterr().out
    assert "90% interval" in printed and " to " in printed


@pytest.mark.parametrize("draws", [0, 10, 2.5])
def test_bad_draws_are_named(model, draws):
    with pytest.raises(ValueError, match="The 'draws' parameter of posterior_intervals must be "
                                         r"a whole number in the range \[20, inf\)"):
        posterior_intervals(model, *model.encoding.encode([{}]), draws=draws)


def test_posterior_draws_are_what_the_interval_summarises(toy_model):
    from model.uncertainty import posterior_draws

    ctx, fnd = toy_model.encoding.encode([{"pain": True}])
    draws = posterior_draws(toy_model, ctx, fnd, draws=200, seed=4)
    low, high = posterior_intervals(toy_model, ctx, fnd, draws=200, seed=4)
    assert draws.shape == (200, 1, 2)
    assert np.allclose(np.quantile(draws, [0.05, 0.95], axis=0), [low, high])
