"""diagnose() agrees with pgmpy's VariableElimination on network() to 1e-9."""

from __future__ import annotations

import numpy as np
import pytest
from pgmpy.inference import VariableElimination

from model import Model, diagnose, evidence, network

N_CASES = 300
#: The cases run in this many tests, so parallel test workers share them out.
PARTS = 6


def random_case(rng: np.random.Generator, model: Model) -> dict[str, object]:
    """A random evidence set: some context (age and sex often unknown), 0-12 findings."""
    vocab = model.vocabulary
    case: dict[str, object] = {}
    if rng.random() < 0.6:
        case["age_years"] = int(rng.integers(0, 121))
    if rng.random() < 0.6:
        case["sex"] = str(rng.choice(["female", "male"]))
    for item in vocab.context:
        if vocab[item].type == "bool" and rng.random() < 0.3:
            case[item] = bool(rng.random() < 0.4)
    k = int(rng.integers(0, 13))
    for finding in rng.choice(vocab.findings, size=k, replace=False):
        case[str(finding)] = bool(rng.random() < 0.5)
    return case


@pytest.fixture(scope="module")
def reference():
    net = network()
    return VariableElimination(net), net


@pytest.mark.parametrize("part", range(PARTS))
def test_agrees_with_variable_elimination_on_random_evidence(model, reference, part):
    ve, _ = reference
    rng = np.random.default_rng(20261125)
    cases = [random_case(rng, model) for _ in range(N_CASES)]
    worst = 0.0
    for case in cases[part::PARTS]:
        got = diagnose(case).probabilities
        result = ve.query(list(model.conditions), evidence=evidence(case), joint=False, show_progress=False)
        for cond, factor in result.items():
            want = factor.values[factor.state_names[cond].index("yes")]
            worst = max(worst, abs(got[cond] - want))
    assert worst < 1e-9, f"largest difference from pgmpy VE: {worst:.3g}"


def test_unknown_age_is_marginalised_not_guessed(model, reference):
    ve, net = reference
    case = {"pain_heel_back": True, "jumping_sport": True}
    got = diagnose(case).probabilities["severs_disease"]
    prior = net.get_cpds("age_band")
    states = prior.state_names["age_band"]
    mixture = 0.0
    for band in states:  # P(S|e) = Σ_band P(band|e) P(S|e, band)
        p_band = ve.query(["age_band"], evidence=evidence(case), show_progress=False)
        weight = p_band.values[p_band.state_names["age_band"].index(band)]
        given_band = ve.query(["severs_disease"], evidence={**evidence(case), "age_band": band}, show_progress=False)
        mixture += weight * given_band.values[1]
    assert got == pytest.approx(mixture, abs=1e-12)
    assert 0 < got < diagnose({**case, "age_years": 11}).probabilities["severs_disease"]
