"""Published accuracy reproduced: every row of priors/accuracy.csv within a factor of 2,
the likelihood ratio against a closed form, and the accuracy file's errors."""

from __future__ import annotations

import numpy as np
import pytest

from model import HeelnetError, PriorsError, UnknownIdError
from model.accuracy import FACTOR, compare, read_accuracy

from .test_network import brute_force

ACCURACY = read_accuracy()


@pytest.fixture(scope="module")
def comparison(model):
    return compare(model, ACCURACY).set_index("id")


@pytest.mark.parametrize("row_id", list(ACCURACY.id))
def test_published_accuracy_is_reproduced_within_a_factor_of_2(comparison, row_id):
    row = comparison.loc[row_id]
    assert 1 / FACTOR <= row.ratio <= FACTOR, (
        f"{row_id} ({row.reference}): published {row.measure} {row.published:.3g}, "
        f"model {row.model:.3g} among {row.given or 'everyone'}")


def test_likelihood_ratio_is_posterior_odds_over_prior_odds(toy_model):
    """On the toy network, against sums over its full joint (tests/test_network.py)."""
    prior, _ = brute_force({"sex": "male"})
    post, _ = brute_force({"sex": "male", "pain": True})
    odds = lambda p: p / (1 - p)  # noqa: E731
    got = toy_model.likelihood_ratio("tendon", {"pain": True}, given={"sex": "male"})
    assert got == pytest.approx(odds(post) / odds(prior), rel=1e-12)
    # with nothing given, the LR is P(pain | tendon) / P(pain | no tendon) in everyone
    assert toy_model.likelihood_ratio("tendon", {"pain": False}) < 1


def test_likelihood_ratio_rejects_what_it_cannot_answer(toy_model):
    with pytest.raises(UnknownIdError, match=r"unknown condition 'tendn'; did you mean 'tendon'"):
        toy_model.likelihood_ratio("tendn", {"pain": True})
    with pytest.raises(HeelnetError, match=r"share 'pain'; give each item once"):
        toy_model.likelihood_ratio("tendon", {"pain": True}, given={"pain": False})
    with pytest.raises(HeelnetError, match=r"needs at least one item"):
        toy_model.likelihood_ratio("tendon", {})


def test_sensitivity_rows_are_p_of_findings_given_the_condition(toy_model, tmp_path):
    path = tmp_path / "accuracy.csv"
    path.write_text(
        "id,condition,findings,given,population,measure,published,low,high,sensitivity,"
        "specificity,reference,checked\n"
        "toy_pain,tendon,pain=yes,sex=male,toy,sensitivity,0.5,,,0.5,,toy 2026,yes\n")
    table = compare(toy_model, read_accuracy(path))
    # P(pain | tendon, male): tear given tendon in men is 0.05 x 4 x 2 = 0.4, so
    # P(pain absent) = 0.95 x 0.3 x (0.4 x 0.1 + 0.6)
    assert table.model[0] == pytest.approx(1 - 0.95 * 0.3 * (0.4 * 0.1 + 0.6), rel=1e-12)


@pytest.mark.parametrize(("line", "message"), [
    ("x,tendon,,,p,lr,2,,,,,r,yes", r"line 2: findings is empty"),
    ("x,tendon,pain,,p,lr,2,,,,,r,yes", r"line 2: items are written id=value, joined by &; got 'pain'"),
    ("x,tendon,pain=yes,,p,odds,2,,,,,r,yes", r"line 2: measure must be lr or sensitivity; got 'odds'"),
    ("x,tendon,pain=yes,,p,lr,two,,,,,r,yes", r"line 2: published must be a number; got 'two'"),
    ("x,tendon,pain=yes,,p,lr,0,,,,,r,yes", r"line 2: published must be a positive number; got '0'"),
])
def test_broken_accuracy_file_is_named_with_its_line(tmp_path, line, message):
    path = tmp_path / "accuracy.csv"
    path.write_text(",".join(["id", "condition", "findings", "given", "population", "measure",
                              "published", "low", "high", "sensitivity", "specificity",
                              "reference", "checked"]) + "\n" + line + "\n")
    with pytest.raises(PriorsError, match=message):
        read_accuracy(path)


def test_every_row_names_a_checked_reference():
    assert ACCURACY.id.is_unique
    assert ACCURACY.reference.str.contains(r"(19|20)\d\d").all()
    assert ACCURACY.checked.str.match(r"(yes|second-hand)").all()
    assert np.isfinite(ACCURACY.published).all()


def test_the_accuracy_module_does_not_shadow_model_evidence():
    """``model.evidence`` is the public function; a submodule of that name would replace it
    as soon as anything imported it (the reports do)."""
    import importlib.util

    import model
    import model.accuracy

    assert importlib.util.find_spec("model.evidence") is None
    assert callable(model.evidence) and callable(model.accuracy.compare)
    assert model.evidence({"palpable_gap": True}) == {"palpable_gap": "yes"}
