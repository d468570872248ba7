"""The policy's quantities, checked by brute force against diagnose() and the rules."""

from __future__ import annotations

import numpy as np
import pytest

from model.interview.policy import Policy, _levels, _pairs, choose
from model.questions import lookahead

CASE = {"age_years": 35, "sex": "male", "pain_above_heel": True, "sudden_onset": True}


def table_of(model, given, exclude=()):
    return lookahead(model, *model.encoding.encode([given]), exclude=exclude)


def test_lookahead_rows_are_the_evidence_plus_one_answer(model):
    table = table_of(model, CASE)
    assert "fever" in table.items and "pain_above_heel" not in table.items
    assert np.allclose(np.bincount(table.owner, weights=table.p_answer), 1.0)
    for k in (table.items.index("fever"), table.items.index("running")):
        rows = np.flatnonzero(table.owner == k) + 1
        for r, label in zip(rows, table.labels[k], strict=True):
            value = {"yes": True, "no": False}[label]
            expected = model.diagnose({**CASE, table.items[k]: value}).probabilities
            assert np.allclose(table.posteriors[r], [expected[c] for c in model.conditions],
                               atol=1e-12)


def test_triage_of_every_row_is_the_rules_triage(model):
    table = table_of(model, CASE)
    levels = _levels(model, table)
    k = table.items.index("palpable_gap")
    yes = np.flatnonzero(table.owner == k)[1] + 1
    expected = model.diagnose({**CASE, "palpable_gap": True}).triage
    assert model.triage_rules.levels[levels[yes]] == expected
    assert model.triage_rules.levels[levels[0]] == model.diagnose(CASE).triage


def brute_pairs(model, given, unknown, current):
    """Per finding: (most urgent level, then largest chance) over the rules of two or more
    findings, more urgent than ``current``, none answered no or "don't know", that it is
    an unasked finding of; the chance is P(all their unasked findings | given)."""
    levels = model.triage_rules.levels
    best = {}
    for rule in model.triage_rules.rules:
        level = levels.index(rule.level)
        open_ = [f for f in rule.findings if f not in given]
        if (len(open_) < 2 or level >= current or any(given.get(f) is False for f in rule.findings)
                or set(open_) & unknown):
            continue
        context, findings = model.encoding.encode([given, {**given, **dict.fromkeys(open_, True)}])
        log_z = model.log_evidence(context, findings)
        chance = float(np.exp(log_z[1] - log_z[0]))
        for f in open_:
            best[f] = min(best.get(f, (current, 0.0)), (level, -chance))
    return {f: (level, -negative) for f, (level, negative) in best.items()}


@pytest.mark.parametrize("given, unknown", [
    ({"age_years": 35, "sex": "male"}, ()),
    ({"age_years": 35, "sex": "male", "ankle_twist": False}, ()),
    ({"age_years": 35, "sex": "male", "pop_or_snap": True}, ()),
    ({"age_years": 35, "sex": "male"}, ("cannot_bear_weight",)),
])
def test_pairs_chance_is_the_joint_probability_of_the_rule_findings(model, given, unknown):
    """Rules that need several unasked findings: each gets P(all present | evidence)."""
    table = table_of(model, given, exclude=unknown)
    current = int(_levels(model, table)[0])
    chance, reach = _pairs(model, table, frozenset(unknown), current)
    expected = brute_pairs(model, given, set(unknown), current)
    assert any(len(r.findings) > 1 for r in model.triage_rules.rules)
    for k, item in enumerate(table.items):
        level, p = expected.get(item, (current, 0.0))
        assert reach[k] == level and chance[k] == pytest.approx(p, rel=1e-9, abs=1e-15), item


def test_a_warning_sign_could_raise_the_triage(model):
    table = table_of(model, {"age_years": 35, "sex": "male"})
    choice = choose(model, table, frozenset(), Policy())
    assert choice.purpose == "warning sign"
    levels = model.triage_rules.levels
    assert levels.index(choice.level) < levels.index(model.diagnose(
        {"age_years": 35, "sex": "male"}).triage)
    assert choice.risk > 0


def test_stops_when_nothing_is_left_to_ask(toy_model):
    given = {"age_years": 40, "sex": "male", "runner": True, "pain": True, "lump": False}
    table = table_of(toy_model, given)
    assert table.items == ()
    assert choose(toy_model, table, frozenset(), Policy()).purpose == "nothing left to ask"


def test_stops_safe_when_nothing_can_change(model):
    """Tolerances of almost 1: no single answer is that likely to change anything."""
    lax = Policy(emergency_risk=0.999, warning_risk=0.999, leader_change=0.999,
                 triage_change=0.999)
    choice = choose(model, table_of(model, CASE), frozenset(), lax)
    assert choice.item is None and choice.purpose == "safe"


@pytest.mark.parametrize("given", [CASE, {"age_years": 11, "pain_heel_back": True}])
def test_informative_question_is_the_best_by_information_gain(model, given):
    no_warnings = Policy(emergency_risk=0.999, warning_risk=0.999, leader_change=1e-9)
    table = table_of(model, given)
    choice = choose(model, table, frozenset(), no_warnings)
    assert choice.purpose == "most informative"
    best = model.next_questions(given, n=1)[0]
    assert table.items[choice.item] == best.id
    assert choice.gain == pytest.approx(best.expected_gain, abs=1e-12)
