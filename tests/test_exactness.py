"""diagnose() agrees with pgmpy's VariableElimination on network() to 1e-9.

VariableElimination runs on the compact form of the network (as ``network(compact=True)``:
each finding with more than two causes is a chain of two-parent ORs), whose tables stay
small; the full table of a finding with 23 causes has 2^24 numbers. The elimination
order follows the engine's schedule (``model.engine.fallback.compact_network``). Even so, a case
that observes several findings with many causes joins most conditions into one
elimination clique and can take pgmpy minutes, so each random case observes at most one
finding linked to more than :data:`WIDE` conditions (the engine's own tests cover wider
cases against ``tests/reference.py``). Each case compares the posteriors of a few
conditions, read from one joint query, so that the test stays within seconds.
"""

from __future__ import annotations

import numpy as np
import pytest
from pgmpy.inference import VariableElimination

from model import ImpossibleEvidenceError, Model, diagnose, evidence
from model.engine.fallback import compact_network

N_CASES = 200
#: The cases run in this many tests, so parallel test workers share them out.
PARTS = 6
#: A finding linked to more conditions than this counts as wide (at most one per case).
WIDE = 6
#: Conditions compared per case (one joint VariableElimination query).
PER_CASE = 4


def random_case(rng: np.random.Generator, model: Model) -> dict[str, object]:
    """A random evidence set: some context (age and sex often unknown), 0-6 findings of
    which at most one is wide; never diabetes without vascular risk (impossible)."""
    vocab = model.vocabulary
    causes = (model.tables.link > 0).sum(axis=0)
    case: dict[str, object] = {}
    if rng.random() < 0.6:
        case["age_years"] = int(rng.integers(0, 121))
    if rng.random() < 0.6:
        case["sex"] = str(rng.choice(["female", "male"]))
    for item in vocab.context:
        if vocab[item].type == "bool" and rng.random() < 0.3:
            case[item] = bool(rng.random() < 0.4)
    if case.get("diabetes") is True and case.get("vascular_risk") is False:
        case["vascular_risk"] = True
    k, wide = int(rng.integers(0, 7)), 0
    for finding in rng.permutation(vocab.findings):
        if sum(f in model.findings for f in case) >= k:
            break
        if causes[model.findings.index(finding)] > WIDE:
            if wide:
                continue
            wide += 1
        case[str(finding)] = bool(rng.random() < 0.5)
    return case


@pytest.fixture(scope="module")
def reference(model):
    """VariableElimination on the compact network, with the elimination order that
    follows the engine's schedule (pgmpy's own heuristics sometimes pick orders that
    take minutes or tens of gigabytes here; see model.engine.fallback)."""
    net, order = compact_network(model.tables)
    return VariableElimination(net), net, order


@pytest.mark.parametrize("part", range(PARTS))
def test_agrees_with_variable_elimination_on_random_evidence(model, reference, part):
    ve, _, order = reference
    rng = np.random.default_rng(20261125)
    cases = [random_case(rng, model) for _ in range(N_CASES)]
    worst, seen = 0.0, set()
    for i, case in enumerate(cases[part::PARTS]):
        result = diagnose(case)
        got = {**result.probabilities, **result.other_causes}
        n = len(model.conditions)  # in turn, so every condition is compared in every part
        chosen = [model.conditions[(i * PER_CASE + j) % n] for j in range(PER_CASE)]
        ev = evidence(case)
        joint = ve.query(chosen, evidence=ev, joint=True, show_progress=False,
                         elimination_order=[v for v in order if v not in ev and v not in chosen])
        for cond in chosen:
            factor = joint.marginalize([c for c in chosen if c != cond], inplace=False)
            factor.normalize()
            want = factor.values[factor.state_names[cond].index("yes")]
            worst = max(worst, abs(got[cond] - want))
        seen.update(chosen)
    assert seen == set(model.conditions), "every condition should be compared at least once"
    assert worst < 1e-9, f"largest difference from pgmpy VE: {worst:.3g}"


def test_the_compact_network_is_the_same_distribution(model):
    """Over the vocabulary's nodes, the chained noisy-ORs equal the full tables."""
    full, compact = model.network(), model.network(compact=True)
    assert set(full.nodes) < set(compact.nodes)
    extra = set(compact.nodes) - set(full.nodes)
    assert extra and all("__or" in n for n in extra)
    case = {"age_years": 30, "pain_above_heel": True, "sudden_onset": True, "fever": False}
    for net in (full, compact):
        ve = VariableElimination(net)
        got = ve.query(["achilles_rupture"], evidence=evidence(case), show_progress=False)
        assert got.values[1] == pytest.approx(diagnose(case).probabilities["achilles_rupture"],
                                              abs=1e-12)


def test_unknown_age_is_marginalised_not_guessed(model, reference):
    ve, net, _ = reference
    case = {"pain_heel_back": True, "jumping_sport": True}
    got = diagnose(case).probabilities["severs_disease"]
    prior = net.get_cpds("age_band")
    states = prior.state_names["age_band"]
    p_band = ve.query(["age_band"], evidence=evidence(case), show_progress=False)
    mixture = 0.0
    for band in states:  # P(S|e) = Σ_band P(band|e) P(S|e, band)
        weight = p_band.values[p_band.state_names["age_band"].index(band)]
        given_band = ve.query(["severs_disease"], evidence={**evidence(case), "age_band": band},
                              show_progress=False)
        mixture += weight * given_band.values[1]
    assert got == pytest.approx(mixture, abs=1e-12)
    assert 0 < got < diagnose({**case, "age_years": 11}).probabilities["severs_disease"]


def test_answers_that_cannot_all_be_true_are_refused():
    """vascular_risk includes diabetes, so diabetes = yes with vascular_risk = no has
    probability 0; the engine returns no posterior for it and diagnose() says why."""
    with pytest.raises(ImpossibleEvidenceError,
                       match=r"(diabetes=yes and vascular_risk=no|vascular_risk=no and diabetes=yes) "
                             r"cannot occur together"):
        diagnose({"diabetes": True, "vascular_risk": False, "swelling": True})
    possible = diagnose({"diabetes": True, "swelling": True})
    assert sum(possible.probabilities.values()) > 0 and possible.triage == "emergency"


#: Findings of the other cause narrow enough to add to any case (tests/other_causes.py).
CALF = ("calf_tenderness_or_swelling", "leg_swollen_one_side")


def test_other_causes_keep_the_posteriors_exact(other_model):
    """With an other cause (a condition of type 'other', tests/other_causes.py) every
    posterior, the other cause's included, still equals pgmpy VE on network() to 1e-9."""
    from .other_causes import OTHER_CAUSE

    net, order = compact_network(other_model.tables)
    ve = VariableElimination(net)
    rng = np.random.default_rng(20261201)
    rotating = [c for c in other_model.conditions if c != OTHER_CAUSE]
    worst, seen = 0.0, set()
    for i in range(len(rotating) // 3 + 1):
        case = random_case(rng, other_model)
        case.update({f: bool(rng.random() < 0.7) for f in CALF if rng.random() < 0.6})
        result = other_model.diagnose(case)
        got = {**result.probabilities, **result.other_causes}
        chosen = [OTHER_CAUSE, *(rotating[(3 * i + j) % len(rotating)] for j in range(3))]
        ev = other_model.evidence(case)
        joint = ve.query(chosen, evidence=ev, joint=True, show_progress=False,
                         elimination_order=[v for v in order if v not in ev and v not in chosen])
        for cond in chosen:
            factor = joint.marginalize([c for c in chosen if c != cond], inplace=False)
            factor.normalize()
            worst = max(worst, abs(got[cond] - factor.values[factor.state_names[cond].index(
                "yes")]))
        seen.update(chosen)
    assert seen == set(other_model.conditions)
    assert worst < 1e-9, f"largest difference from pgmpy VE: {worst:.3g}"
