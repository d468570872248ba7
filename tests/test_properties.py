"""Laws diagnose() must obey for any input (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from model import Model, diagnose

MODEL = Model.default()
FINDINGS = st.dictionaries(st.sampled_from(MODEL.findings), st.booleans(), max_size=10)
CONTEXT = st.fixed_dictionaries({}, optional={
    "age_years": st.integers(0, 120),
    "sex": st.sampled_from(["female", "male"]),
    "running": st.booleans(),
    "gout_history": st.booleans(),
})


@settings(max_examples=60, deadline=None)
@given(FINDINGS, CONTEXT)
def test_probabilities_are_probabilities_and_ranked(findings, context):
    result = diagnose({**context, **findings})
    assert all(0.0 <= p <= 1.0 for p in result.probabilities.values())
    values = [p for _, p in result.ranked]
    assert values == sorted(values, reverse=True)
    assert result.triage in MODEL.vocabulary.triage_levels


@settings(max_examples=40, deadline=None)
@given(FINDINGS, CONTEXT, st.randoms(use_true_random=False))
def test_order_of_items_does_not_matter(findings, context, rnd):
    items = [*context.items(), *findings.items()]
    shuffled = items.copy()
    rnd.shuffle(shuffled)
    first, second = diagnose(dict(items)), diagnose(dict(shuffled))
    assert first.probabilities == second.probabilities
    assert (first.triage, first.red_flags) == (second.triage, second.red_flags)


@settings(max_examples=40, deadline=None)
@given(FINDINGS, st.sampled_from(MODEL.findings))
def test_not_asked_is_the_average_of_yes_and_no(findings, extra):
    """P(c | e) = P(f | e) P(c | e, f) + P(not f | e) P(c | e, not f): a finding not
    asked is a mixture of its two answers, so its posterior lies between them."""
    findings.pop(extra, None)
    unasked = diagnose(findings).probabilities
    yes = diagnose({**findings, extra: True}).probabilities
    no = diagnose({**findings, extra: False}).probabilities
    for condition, p in unasked.items():
        lo, hi = sorted((yes[condition], no[condition]))
        assert lo - 1e-12 <= p <= hi + 1e-12, (condition, lo, p, hi)
