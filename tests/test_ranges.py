"""Plausible ranges: every number has one, explicit low/high win, the rules fill the rest."""

from __future__ import annotations

import math

import numpy as np
import pytest

from model import Model, PriorsError, parameters
from model.knowledge.ranges import PROBABILITY_TABLES, RATIO_TABLES, RULES, scaled

NUMBERS = (*PROBABILITY_TABLES, *RATIO_TABLES)


def test_every_bundled_number_has_a_valid_range():
    table = parameters()
    numbers = table[table.table.isin(NUMBERS)]
    assert numbers[["low", "high"]].notna().all().all()
    assert (numbers.low <= numbers.value).all() and (numbers.value <= numbers.high).all()
    probs = numbers[numbers.table.isin(PROBABILITY_TABLES)]
    assert (probs.low >= 0).all() and (probs.high <= 1).all()
    ratios = numbers[numbers.table.isin(RATIO_TABLES)]
    assert (ratios.low >= 0).all() and np.isfinite(ratios.high).all()
    assert (ratios.low[ratios.value > 0] > 0).all()  # a ratio of 0 (a structural zero) stays 0
    assert (ratios.high[ratios.value == 0] == 0).all()
    # every range is either given in its row or named by its rule
    given = numbers.range_rule == ""
    assert (numbers.loc[~given, "range_rule"].str.split(":").str[0]
            .isin([r.name for r in RULES.values()])).all()


@pytest.mark.parametrize("kind, factor", [("assumption", 3), ("seed", 2), ("literature", 1.5)])
def test_rule_by_kind_odds_for_probabilities_ratio_for_risk_ratios(toy_copy, kind, factor):
    for name, old in [("likelihoods.csv", "lump,tendon,0.4,assumption"),
                      ("conditions.csv", "tear,tendon,yes,4,assumption")]:
        path = toy_copy / name
        path.write_text(path.read_text().replace(old, old.replace("assumption", kind)))
    table = Model.from_directory(toy_copy).parameters()
    link = table[(table.table == "likelihood") & (table.node == "lump")].iloc[0]
    odds = 0.4 / 0.6
    assert link.low / (1 - link.low) == pytest.approx(odds / factor)
    assert link.high / (1 - link.high) == pytest.approx(odds * factor)
    assert link.range_rule == f"{kind}: odds ×/÷ {factor:g}"
    ratio = table[(table.table == "risk_ratio") & (table.parent == "tendon")].iloc[0]
    assert (ratio.low, ratio.high) == pytest.approx((4 / factor, 4 * factor))
    assert ratio.range_rule == f"{kind}: ratio ×/÷ {factor:g}"


def test_many_state_context_nodes_use_the_structure_rule(toy_model):
    table = toy_model.parameters()
    sex = table[(table.table == "context_prior") & (table.node == "sex")]
    assert (sex.range_rule == "population structure: odds ×/÷ 1.25").all()
    assert sex.low.tolist() == pytest.approx([(1 / 1.25) / (1 + 1 / 1.25)] * 2)


def test_probabilities_of_exactly_zero_or_one_keep_a_single_value():
    assert scaled(0.0, 3.0, "leak") == (0.0, 0.0)
    assert scaled(1.0, 3.0, "likelihood") == (1.0, 1.0)


def test_explicit_low_and_high_win(toy_copy):
    path = toy_copy / "likelihoods.csv"
    text = path.read_text().replace("source,derivation", "source,derivation,low,high")
    path.write_text(text.replace("lump,tendon,0.4,assumption,toy number,",
                                 "lump,tendon,0.4,assumption,toy number,,0.35,0.5"))
    table = Model.from_directory(toy_copy).parameters()
    row = table[(table.table == "likelihood") & (table.node == "lump")].iloc[0]
    assert (row.low, row.high, row.range_rule) == (0.35, 0.5, "")


@pytest.mark.parametrize("cells, message", [
    (",0.35,", r"line 4: give both low and high, or neither"),
    (",0.5,0.6", r"line 4: the value 0.4 lies outside its range \[0.5, 0.6\]"),
    (",0.3,1.2", r"line 4: low and high must be from 0 to 1, low <= high; got low 0.3, high 1.2"),
    (",0.3,abc", r"line 4: high must be a number; got 'abc'"),
    # a bound of 0 or 1 is infinitely far on the log-odds scale: a range reaching 1 gave
    # the fit no prior at all, and it drove a link to exactly 1 (notebook 05's NaN)
    (",0.3,1.0", r"line 4: a range must stay inside \(0, 1\) around a value inside it"),
    (",0,0.5", r"line 4: a range must stay inside \(0, 1\) around a value inside it"),
])
def test_bad_ranges_are_named_with_their_line(toy_copy, cells, message):
    path = toy_copy / "likelihoods.csv"
    text = path.read_text().replace("source,derivation", "source,derivation,low,high")
    path.write_text(text.replace("lump,tendon,0.4,assumption,toy number,",
                                 f"lump,tendon,0.4,assumption,toy number,{cells}"))
    with pytest.raises(PriorsError, match=message):
        Model.from_directory(toy_copy)


def test_a_data_number_needs_its_range(toy_copy):
    path = toy_copy / "leaks.csv"
    path.write_text(path.read_text().replace("lump,0.01,assumption", "lump,0.01,data"))
    with pytest.raises(PriorsError, match=r"leaks.csv, line 3: a 'data' number needs its low "
                                          r"and high"):
        Model.from_directory(toy_copy)


def test_a_ruled_range_follows_an_edited_value_but_a_given_one_is_checked(toy_model):
    table = toy_model.parameters()
    row = (table.table == "condition_prior") & (table.node == "tendon")
    table.loc[row, "value"] = 0.2
    edited = Model.from_parameters(table, toy_model.vocabulary).parameters()
    assert edited.loc[row, "high"].item() == pytest.approx(scaled(0.2, 3, "condition_prior")[1])
    table.loc[row, "range_rule"] = ""  # now the (old) low and high are given
    table.loc[row, "value"] = 0.5
    with pytest.raises(PriorsError, match=r"row 5 .*the value 0.5 lies outside its range"):
        Model.from_parameters(table, toy_model.vocabulary)


def test_triage_thresholds_are_fixed():
    table = parameters()
    rules = table[(table.table == "triage_rule") & table.value.notna()]
    assert (rules.low == rules.value).all() and (rules.high == rules.value).all()
    assert (rules.range_rule == "threshold").all()
    assert math.isnan(table[(table.table == "triage_rule") & table.value.isna()].low.iloc[0])
