"""The network: closed-form answers on the toy knowledge base, and the contract's shape."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from model import evidence, network

# The toy knowledge base (tests/toy_priors), written out by hand.
AGE = {"age_0_17": 0.2, "age_18_120": 0.8}
SEX = {"female": 0.5, "male": 0.5}
RUNNER = {False: 0.7, True: 0.3}


def p_tendon(age, runner):
    return 0.1 * (3 if runner else 1) * (0.5 if age == "age_0_17" else 1)


def p_tear(tendon, sex):
    return 0.05 * (4 if tendon else 1) * (2 if sex == "male" else 1)


def p_pain_absent(tendon, tear):
    return 0.95 * (0.3 if tendon else 1) * (0.1 if tear else 1)


def p_lump_absent(tendon):
    return 0.99 * (0.6 if tendon else 1)


def brute_force(given):
    """P(tendon), P(tear) given evidence, by summing the full joint."""
    total = np.zeros(3)  # P(e), P(tendon, e), P(tear, e)
    for age, sex, runner, tendon, tear in itertools.product(AGE, SEX, RUNNER, (0, 1), (0, 1)):
        if "age" in given and given["age"] != age:
            continue
        if "sex" in given and given["sex"] != sex:
            continue
        if "runner" in given and given["runner"] != runner:
            continue
        pt, pr = p_tendon(age, runner), p_tear(tendon, sex)
        w = AGE[age] * SEX[sex] * RUNNER[runner] * (pt if tendon else 1 - pt) * (pr if tear else 1 - pr)
        for finding, absent in (("pain", p_pain_absent(tendon, tear)), ("lump", p_lump_absent(tendon))):
            if finding in given:
                w *= (1 - absent) if given[finding] else absent
        total += w * np.array([1, tendon, tear])
    return total[1] / total[0], total[2] / total[0]


CASES = [
    {},
    {"pain": True},
    {"pain": False},
    {"pain": True, "lump": True},
    {"pain": True, "lump": False, "sex": "male"},
    {"pain": True, "runner": True, "age": "age_0_17"},
    {"lump": True, "runner": False, "sex": "female", "age": "age_18_120"},
]


@pytest.mark.parametrize("given", CASES, ids=[str(c) for c in CASES])
def test_posteriors_match_the_joint_summed_by_hand(toy_model, given):
    inputs = {k: v for k, v in given.items() if k != "age"}
    if "age" in given:
        inputs["age_years"] = 10 if given["age"] == "age_0_17" else 40
    result = toy_model.diagnose(inputs)
    tendon, tear = brute_force(given)
    assert result.probabilities["tendon"] == pytest.approx(tendon, abs=1e-12)
    assert result.probabilities["tear"] == pytest.approx(tear, abs=1e-12)


def test_finding_table_is_noisy_or_with_leak(toy_model):
    cpd = toy_model.network().get_cpds("pain")
    for tendon, tear in itertools.product((0, 1), (0, 1)):
        state = {"tendon": ("no", "yes")[tendon], "tear": ("no", "yes")[tear]}
        assert cpd.get_value(pain="no", **state) == pytest.approx(p_pain_absent(tendon, tear), abs=1e-15)


def test_condition_table_is_baseline_times_risk_ratios(toy_model):
    cpd = toy_model.network().get_cpds("tear")
    assert cpd.get_value(tear="yes", tendon="yes", sex="male") == pytest.approx(0.4)
    assert cpd.get_value(tear="yes", tendon="no", sex="female") == pytest.approx(0.05)


def test_network_has_the_contract_shape(model):
    net = network()
    vocab = model.vocabulary
    assert set(vocab.conditions) <= set(net.nodes)
    assert set(vocab.findings) <= set(net.nodes)
    assert "age_band" in net.nodes and "age_years" not in net.nodes
    for node in [*vocab.conditions, *vocab.findings, "fever", "running"]:
        assert net.get_cpds(node).state_names[node] == ["no", "yes"]
    assert net.get_cpds("sex").state_names["sex"] == ["female", "male"]
    for finding in vocab.findings:  # findings are caused by conditions only
        assert set(net.get_parents(finding)) <= set(vocab.conditions)
    assert net.get_cpds("age_band").state_names["age_band"][1] == "age_8_14"


def test_network_is_a_copy(model):
    net = network()
    net.remove_node("fever")
    assert "fever" in network().nodes


def test_evidence_maps_inputs_to_states():
    ev = evidence({"age_years": 41, "sex": "male", "pain_heel_back": True, "fever": "no", "swelling": None})
    assert ev == {"age_band": "age_35_44", "sex": "male", "pain_heel_back": "yes", "fever": "no"}


def test_context_that_depends_on_context_agrees_with_variable_elimination(toy_copy):
    """Running depends on age and sex: the engine sums them as strata, pgmpy as usual."""
    from pgmpy.inference import VariableElimination

    from model import Model
    from tests.test_knowledge import with_context_risks

    with_context_risks(toy_copy, "runner,yes,age_band,age_0_17,2,assumption,toy number,\n"
                                 "runner,yes,sex,male,1.5,assumption,toy number,")
    model = Model.from_directory(toy_copy)
    assert model.engine.structure.strata == (0, 1)
    net = model.network()
    assert net.has_edge("age_band", "runner") and net.has_edge("sex", "runner")
    ve = VariableElimination(net)
    for case in CASES:
        given = model.vocabulary.validate(
            {("age_years" if k == "age" else k): (12 if v == "age_0_17" else 40 if v == "age_18_120" else v)
             for k, v in case.items()})
        got = model.posteriors([given])[0]
        q = ve.query(list(model.conditions), evidence=model.encoding.evidence(given), joint=False,
                     show_progress=False)
        want = [q[c].values[q[c].state_names[c].index("yes")] for c in model.conditions]
        np.testing.assert_allclose(got, want, atol=1e-12)
