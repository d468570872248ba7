"""next_questions: expected information gain, checked by hand on a two-condition network."""

from __future__ import annotations

import itertools
import math

import pytest

from model import Model
from model.questions import binary_entropy, next_questions

from .priors_folder import model_from_texts

VOCAB = """kind,id,type,values,meaning
context,age_years,int,0-120,Age in whole years
context,smoker,bool,,Smokes
finding,f1,bool,,First finding
finding,f2,bool,,Second finding
condition,a,bool,,Condition A
condition,b,bool,,Condition B
triage,see_doctor,level,,Book a visit
triage,self_care,level,,Home care
"""
TABLES = {
    "context.csv": "node,state,value,source_kind,source,derivation\n"
    "age_band,age_0_120,1.0,assumption,test,\nsmoker,yes,0.25,assumption,test,\n",
    "conditions.csv": "condition,parent,state,value,source_kind,source,derivation\n"
    "a,,,0.3,assumption,test,\nb,,,0.2,assumption,test,\nb,smoker,yes,2,assumption,test,\n",
    "likelihoods.csv": "finding,condition,value,source_kind,source,derivation\n"
    "f1,a,0.8,assumption,test,\nf1,b,0.3,assumption,test,\nf2,b,0.6,assumption,test,\n",
    "leaks.csv": "finding,value,source_kind,source,derivation\n"
    "f1,0.05,assumption,test,\nf2,0.1,assumption,test,\n",
    "triage.csv": "rule,level,findings,condition,threshold,wording,source_kind,source,derivation\n",
}
A, B_PLAIN, B_SMOKER, SMOKER = 0.3, 0.2, 0.4, 0.25
LINKS = {"f1": {"a": 0.8, "b": 0.3}, "f2": {"b": 0.6}}
LEAKS = {"f1": 0.05, "f2": 0.1}


@pytest.fixture(scope="module")
def two(tmp_path_factory) -> Model:
    return model_from_texts(tmp_path_factory.mktemp("two"), {"vocabulary.csv": VOCAB, **TABLES})


def joint():
    """Every (smoker, a, b, f1, f2) with its probability, written out by hand."""
    for s, a, b, f1, f2 in itertools.product((0, 1), repeat=5):
        p = SMOKER if s else 1 - SMOKER
        p *= A if a else 1 - A
        pb = B_SMOKER if s else B_PLAIN
        p *= pb if b else 1 - pb
        for f, value in (("f1", f1), ("f2", f2)):
            off = (1 - LEAKS[f]) * (1 - LINKS[f].get("a", 0)) ** a * (1 - LINKS[f].get("b", 0)) ** b
            p *= (1 - off) if value else off
        yield {"smoker": s, "a": a, "b": b, "f1": f1, "f2": f2}, p


def h(p):
    return 0.0 if p in (0, 1) else -p * math.log2(p) - (1 - p) * math.log2(1 - p)


def uncertainty(evidence):
    """Sum of the binary entropies of a and b given evidence, and P(evidence)."""
    rows = [(w, p) for w, p in joint() if all(w[k] == v for k, v in evidence.items())]
    total = sum(p for _, p in rows)
    return sum(h(sum(p for w, p in rows if w[c]) / total) for c in "ab"), total


def expected_gain(evidence, item):
    before, p_e = uncertainty(evidence)
    after = 0.0
    for v in (0, 1):
        h_v, p_ev = uncertainty({**evidence, item: v})
        after += p_ev / p_e * h_v
    return before - after


@pytest.mark.parametrize("given", [{}, {"f2": True}, {"f1": True, "smoker": False}])
def test_gain_matches_hand_computation(two, given):
    evidence = {k: int(v) for k, v in given.items()}
    questions = next_questions(two, given, n=None)
    asked = {q.id for q in questions}
    assert asked == {"smoker", "f1", "f2", "age_years"} - set(given)
    for q in questions:
        if q.id == "age_years":  # one band: asking the age tells nothing
            assert q.expected_gain == pytest.approx(0, abs=1e-12)
            continue
        assert q.expected_gain == pytest.approx(expected_gain(evidence, q.id), abs=1e-9)
        p_yes = uncertainty({**evidence, q.id: 1})[1] / uncertainty(evidence)[1]
        assert q.p_yes == pytest.approx(p_yes, abs=1e-9)
        assert sum(p for _, p in q.answers) == pytest.approx(1, abs=1e-12)


def test_ranked_best_first_and_cut_at_n(two):
    every = next_questions(two, {}, n=None)
    gains = [q.expected_gain for q in every]
    assert gains == sorted(gains, reverse=True)
    assert next_questions(two, {}, n=2) == every[:2]


def test_nothing_left_to_ask(two):
    assert next_questions(two, {"age_years": 30, "smoker": True, "f1": True, "f2": False}) == []


def test_gains_are_never_negative_on_the_toy(toy_model):
    for given in ({}, {"pain": True}, {"pain": False, "lump": True}, {"age_years": 10}):
        assert all(q.expected_gain >= 0 for q in next_questions(toy_model, given, n=None))


def test_bad_input_is_refused(toy_model):
    with pytest.raises(ValueError, match=r"'n' parameter of next_questions .* got 0"):
        next_questions(toy_model, {}, n=0)
    with pytest.raises(ValueError, match="pian"):
        next_questions(toy_model, {"pian": True})


def test_binary_entropy_endpoints():
    assert binary_entropy(0.0) == 0 and binary_entropy(1.0) == 0
    assert float(binary_entropy(0.5)) == pytest.approx(1.0)
