"""explain: contributions add up exactly to the log-odds change they explain."""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.explain import explain

CASES = [
    {"age_years": 12, "runner": True, "pain": True, "lump": False},
    {"sex": "male", "pain": True, "lump": True},
    {"pain": False},
    {"age_years": 40, "sex": "female"},
]


def logit(p):
    return math.log(p) - math.log1p(-p)


@pytest.mark.parametrize("method", ["shapley", "sequential"])
@pytest.mark.parametrize("case", CASES)
def test_contributions_add_up_to_the_change(toy_model, case, method):
    ex = explain(toy_model, case, list(toy_model.conditions), method=method)
    posteriors = toy_model.posteriors([toy_model.vocabulary.validate(case)])[0]
    context = {k: v for k, v in case.items() if k not in toy_model.findings}
    priors = toy_model.posteriors([toy_model.vocabulary.validate(context)])[0]
    population = toy_model.posteriors([{}])[0]
    for j, item in enumerate(ex):
        assert item.posterior == pytest.approx(posteriors[j], abs=1e-12)
        assert item.prior == pytest.approx(priors[j], abs=1e-12)
        assert item.population_prior == pytest.approx(population[j], abs=1e-12)
        total = logit(posteriors[j]) - logit(priors[j])
        assert sum(c.log_odds for c in item.contributions) == pytest.approx(total, abs=1e-9)
        assert item.total_log_odds == pytest.approx(total, abs=1e-12)
        assert {c.id for c in item.contributions} == set(case) & set(toy_model.findings)


def test_sequential_credits_each_step(toy_model):
    case = {"sex": "male", "pain": True, "lump": True}
    item = explain(toy_model, case, ["tendon"], method="sequential")["tendon"]
    p = [toy_model.posteriors([toy_model.vocabulary.validate(c)])[0][0] for c in
         ({"sex": "male"}, {"sex": "male", "pain": True}, case)]
    by_id = {c.id: c.log_odds for c in item.contributions}
    assert by_id["pain"] == pytest.approx(logit(p[1]) - logit(p[0]), abs=1e-12)
    assert by_id["lump"] == pytest.approx(logit(p[2]) - logit(p[1]), abs=1e-12)


def test_shapley_is_the_average_over_orders_and_ignores_the_given_order(toy_model):
    forward = {"age_years": 12, "pain": True, "lump": False}
    backward = {"lump": False, "pain": True, "age_years": 12}
    a = explain(toy_model, forward, ["tear"], method="shapley")["tear"]
    b = explain(toy_model, backward, ["tear"], method="shapley")["tear"]
    assert {c.id: c.log_odds for c in a.contributions} == pytest.approx(
        {c.id: c.log_odds for c in b.contributions}, abs=1e-12)
    # by hand: average of the sequential credits over both orders
    orders = [{"age_years": 12, "pain": True, "lump": False},
              {"age_years": 12, "lump": False, "pain": True}]
    seq = [explain(toy_model, o, ["tear"], method="sequential")["tear"] for o in orders]
    mean = {f: np.mean([{c.id: c.log_odds for c in s.contributions}[f] for s in seq])
            for f in ("pain", "lump")}
    assert {c.id: c.log_odds for c in a.contributions} == pytest.approx(mean, abs=1e-12)


def test_default_is_the_top_three_in_words_and_html(model):
    case = {"age_years": 41, "sex": "male", "racquet_sport": True, "pain_heel_back": True,
            "morning_first_step_pain": True}
    ex = explain(model, case)
    ranked = model.diagnose(case).ranked
    assert [c.condition for c in ex] == [c for c, _ in ranked[:3]]
    text = str(ex)
    assert "raised the odds" in text and "from the context alone" in text
    assert "<table>" in ex._repr_html_()


def test_bad_input_is_refused(toy_model):
    with pytest.raises(ValueError, match=r"'method' parameter of explain .* got 'random'"):
        explain(toy_model, {"pain": True}, method="random")
    with pytest.raises(ValueError, match="unknown condition"):
        explain(toy_model, {"pain": True}, ["tendonn"])


def test_other_causes_are_explained_only_when_asked(other_model):
    case = {"calf_tenderness_or_swelling": True, "leg_swollen_one_side": True}
    default = explain(other_model, case)
    assert [c.condition for c in default] == [
        c for c, _ in other_model.diagnose(case).top(3)]
    asked = explain(other_model, case, ["other_calf_cause"])["other_calf_cause"]
    assert asked.posterior == pytest.approx(
        other_model.diagnose(case).other_causes["other_calf_cause"], abs=1e-12)
