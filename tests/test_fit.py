"""fit: EM for noisy-OR links and leaks from labelled cases, written as a priors folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model import HeelnetError, Model
from model.cli import main
from model.fit import FitError, beta_prior
from model.knowledge.ranges import scaled
from model.simulate import draw_findings, draw_truth, labelled_cases

TOY = Path(__file__).parent / "toy_priors"
#: The "true" model: three numbers of the toy knowledge base moved.
TRUE = {("likelihood", "lump", "tendon"): 0.2, ("likelihood", "pain", "tendon"): 0.45,
        ("leak", "pain", ""): 0.12}


def _row(table: pd.DataFrame, key: tuple[str, str, str]) -> pd.Series:
    return (table.table == key[0]) & (table.node == key[1]) & (table.parent == key[2])


@pytest.fixture(scope="module")
def true_model(toy_model) -> Model:
    table = toy_model.parameters()
    for key, value in TRUE.items():
        table.loc[_row(table, key), "value"] = value
    return Model.from_parameters(table, toy_model.vocabulary)


def _log_loss(model: Model, context, findings, truth) -> float:
    p = np.clip(model.infer(context, findings), 1e-15, 1 - 1e-15)
    return float(-np.mean(truth * np.log(p) + (1 - truth) * np.log(1 - p)))


def test_beta_prior_has_the_range_as_its_central_90_percent():
    from scipy.stats import beta

    value, low, high = np.array([0.75, 0.003, 0.96]), np.array([0.5, 0.001, 0.94]), \
        np.array([0.9, 0.0089, 0.973])
    a, b = beta_prior(value, low, high)
    q = beta.ppf([[0.05], [0.5], [0.95]], a, b)
    # matched on the logit scale: the percentiles agree to ~10 %, ~30 % for a skewed leak
    assert np.all(np.abs(q[0] / low - 1) < [0.1, 0.3, 0.1])
    assert np.all(np.abs(q[2] / high - 1) < [0.1, 0.3, 0.1])
    assert a / (a + b) == pytest.approx(value)  # the mean is the number: no cases, no move
    assert (a + b)[2] > 20 * (a + b)[0]  # a narrow range is a strong prior


def test_recovers_the_true_numbers_and_most_of_the_log_loss(toy_model, true_model):
    train = labelled_cases(toy_model, 2000, seed=1, tables=true_model.tables)
    result = toy_model.fit(train)
    changes = result.changes.set_index(["table", "node", "parent"])
    for key, truth in TRUE.items():
        row = changes.loc[key]
        assert abs(row.value - truth) < abs(row.old - truth)  # moved towards the truth
        half = (row.high - row.low) / 2  # within the 90 % range, give or take half its width
        assert row.low - half <= truth <= row.high + half, (key, row.low, row.high)
    rng = np.random.default_rng(9)
    context, truth = draw_truth(true_model.tables, 20_000, rng)
    findings = draw_findings(true_model.tables, truth, rng)
    base, fitted, true = (_log_loss(m, context, findings, truth)
                          for m in (toy_model, result.model, true_model))
    assert (base - fitted) / (base - true) > 0.8


def test_closed_form_when_one_cause_explains_the_finding(toy_copy):
    """With the leak of 'lump' at 0 its only cause is 'tendon': EM is one Beta update."""
    path = toy_copy / "leaks.csv"
    path.write_text(path.read_text().replace("lump,0.01,", "lump,0,"))
    toy = Model.from_directory(toy_copy)
    cases = pd.DataFrame({"lump": ["yes"] * 7 + ["no"] * 13 + ["yes", ""],
                          "expected_condition": ["tendon"] * 20 + ["none", "tendon"]})
    with pytest.raises(FitError, match=r"row 21: expected_condition: unknown condition 'x'"):
        toy.fit(cases.assign(expected_condition=cases.expected_condition.replace("none", "x")))
    result = toy.fit(cases.iloc[:20].assign(lump=cases.lump.iloc[:20]), tables=["likelihood"])
    a, b = beta_prior(np.array([0.4]), *(np.array([v]) for v in scaled(0.4, 3, "likelihood")))
    row = result.changes.set_index(["node", "parent"]).loc[("lump", "tendon")]
    assert row.value == pytest.approx(float((a[0] + 7) / (a[0] + b[0] + 20)), rel=1e-5)
    assert (row.cases, row.events) == pytest.approx((20, 7))


def test_not_asked_findings_change_nothing(toy_model):
    cases = labelled_cases(toy_model, 300, seed=4)
    blanks = cases.assign(lump=None, case_id=cases.case_id + "b")
    once = toy_model.fit(cases).changes.set_index(["table", "node", "parent"])
    more = toy_model.fit(pd.concat([cases, blanks])).changes.set_index(["table", "node", "parent"])
    lump = [k for k in once.index if k[1] == "lump"]
    assert np.allclose(once.loc[lump, "value"], more.loc[lump, "value"], rtol=0, atol=1e-9)
    assert (more.loc[lump, "cases"] == once.loc[lump, "cases"]).all()


def test_a_wide_assumption_moves_more_than_a_sourced_number(toy_copy):
    cases = labelled_cases(Model.from_directory(toy_copy), 300, seed=5)
    cases["lump"] = np.where(cases.expected_condition.str.contains("tendon"), "yes", "no")
    moved = {}
    for kind in ("assumption", "literature"):
        path = toy_copy / "likelihoods.csv"
        text = path.read_text()
        for old in ("assumption", "literature"):
            text = text.replace(f"lump,tendon,0.4,{old}", f"lump,tendon,0.4,{kind}")
        path.write_text(text)
        fitted = Model.from_directory(toy_copy).fit(cases, strength=1.0)
        row = fitted.changes.set_index(["node", "parent"]).loc[("lump", "tendon")]
        moved[kind] = row.value - row.old
    assert moved["assumption"] > moved["literature"] > 0
    stronger = Model.from_directory(toy_copy).fit(cases, strength=10.0)
    row = stronger.changes.set_index(["node", "parent"]).loc[("lump", "tendon")]
    assert 0 < row.value - row.old < moved["literature"]


def test_written_folder_loads_and_keeps_unmoved_rows_byte_for_byte(toy_model, tmp_path):
    result = toy_model.fit(labelled_cases(toy_model, 300, seed=6), tables=["likelihood"],
                           exclude=["pain"], label="cases.csv")
    target = result.write(tmp_path / "fitted")
    loaded = Model.from_directory(target)
    assert np.allclose(loaded.parameters().value, result.parameters.value, equal_nan=True)
    table = loaded.parameters()
    moved = table[table.source_kind == "data"]
    assert list(zip(moved.node, moved.parent)) == [("lump", "tendon")]
    behind = result.changes.cases.iloc[0]
    assert 0 < behind < 300  # the cases with tendon in which lump was asked
    assert moved.source.iloc[0] == f"heelnet fit: {behind:g} of 300 cases.csv"
    assert "previous number 0.4" in moved.derivation.iloc[0]
    assert "previous source (assumption): toy number" in moved.derivation.iloc[0]
    for name in ("vocabulary.csv", "context.csv", "conditions.csv", "leaks.csv", "triage.csv"):
        assert (target / name).read_bytes() == (TOY / name).read_bytes()
    old = (TOY / "likelihoods.csv").read_text().splitlines()
    new = (target / "likelihoods.csv").read_text().splitlines()
    assert new[0] == old[0] + ",low,high"
    assert [n for n in new[1:] if not n.startswith("lump,")] == \
        [o for o in old[1:] if not o.startswith("lump,")]


def test_bad_cases_name_every_row_and_write_nothing(toy_model, tmp_path):
    cases = pd.DataFrame({"case_id": ["a", "b", "c", "d"], "age_years": ["40", "250", "", ""],
                          "pain": ["yes", "yes", "maybe", "no"],
                          "expected_condition": ["tendon", "tendon", "tear", ""]})
    with pytest.raises(FitError) as error:
        toy_model.fit(cases)
    message = str(error.value)
    assert message.startswith("3 of 4 cases cannot be used, so nothing was fitted")
    assert "row 2 (case_id b): 'age_years' must be a whole number from 0 to 120; got '250'" in message
    assert "row 3 (case_id c): 'pain'" in message
    assert "row 4 (case_id d): expected_condition is blank" in message
    assert list(error.value.errors.row) == ["row 2 (case_id b)", "row 3 (case_id c)",
                                            "row 4 (case_id d)"]
    source = tmp_path / "cases.csv"
    cases.to_csv(source, index=False)
    assert main(["fit", str(source), "-o", str(tmp_path / "out"), "--priors", str(TOY)]) == 1
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["cases.csv"]


@pytest.mark.parametrize("options, message", [
    ({"strength": 0}, r"The 'strength' parameter of fit must be a number in the range \(0, inf\)"),
    ({"tables": ["context_prior"]}, r"The 'tables' parameter of fit names an unknown table 'context_prior'"),
    ({"exclude": ["pian"]}, r"unknown finding 'pian'; did you mean 'pain'\?"),
])
def test_bad_parameters_are_named(toy_model, options, message):
    with pytest.raises(HeelnetError, match=message):
        toy_model.fit(labelled_cases(toy_model, 5), **options)


def test_cases_need_expected_condition(toy_model):
    with pytest.raises(HeelnetError, match="fit needs an 'expected_condition' column"):
        toy_model.fit(pd.DataFrame({"pain": ["yes"]}))


def test_an_edited_model_cannot_be_written_from_its_old_files(toy_model, tmp_path):
    table = toy_model.parameters()
    table.loc[table.table == "leak", "value"] = 0.02
    edited = Model.from_parameters(table, toy_model.vocabulary)
    result = edited.fit(labelled_cases(edited, 50))
    with pytest.raises(HeelnetError, match="this model's numbers differ from the files"):
        result.write(tmp_path / "out")


def test_cli_fit_writes_a_folder_the_cli_loads(tmp_path, capsys):
    source = tmp_path / "cases.csv"
    labelled_cases(Model.from_directory(TOY), 200, seed=3).to_csv(source, index=False)
    target = tmp_path / "fitted"
    assert main(["fit", str(source), "-o", str(target), "--priors", str(TOY), "--exclude",
                 "pain"]) == 0
    out = capsys.readouterr().out
    assert f"wrote {target}: 2 numbers moved by 200 labelled cases" in out
    assert main(["diagnose", "lump=yes", "--priors", str(target)]) == 0
    assert main(["fit", str(source), "-o", str(target), "--priors", str(TOY)]) == 0  # replaced
    assert Model.from_directory(target).parameters().source_kind.eq("data").sum() == 5
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("keep me")
    assert main(["fit", str(source), "-o", str(tmp_path / "other"), "--priors", str(TOY)]) == 1
    assert "neither empty nor a priors folder" in capsys.readouterr().err


def test_baselines_and_risk_ratios_only_on_request_and_recovered(toy_model):
    table = toy_model.parameters()
    truth = {("condition_prior", "tendon", ""): 0.2, ("risk_ratio", "tear", "sex"): 4.0}
    for key, value in truth.items():
        table.loc[_row(table, key), "value"] = value
    true_model = Model.from_parameters(table, toy_model.vocabulary)
    cases = labelled_cases(toy_model, 3000, seed=2, tables=true_model.tables)
    assert set(toy_model.fit(cases).changes.table) == {"likelihood", "leak"}
    result = toy_model.fit(cases, tables=["condition_prior", "risk_ratio"])
    assert set(result.changes.table) == {"condition_prior", "risk_ratio"}
    changes = result.changes.set_index(["table", "node", "parent"])
    for key, value in truth.items():
        row = changes.loc[key]
        assert abs(row.value - value) < abs(row.old - value) / 3
        half = (row.high - row.low) / 2
        assert row.low - half <= value <= row.high + half
    unknown_sex = cases.assign(sex=None)  # cases without the parent do not count for it
    again = toy_model.fit(pd.concat([cases, unknown_sex]), tables=["risk_ratio"])
    sex = again.changes.set_index(["table", "node", "parent"]).loc[("risk_ratio", "tear", "sex")]
    assert sex.cases == (cases.sex == "male").sum()


def test_fit_warns_when_no_label_names_an_other_cause(model):
    """A clinic labels diagnoses, not other causes: fit says what that does to the leaks."""
    from model.simulate import labelled_cases

    cases = labelled_cases(model, 300, seed=2)
    names = "|".join(model.other_causes)
    cases["expected_condition"] = cases["expected_condition"].str.replace(
        rf"\|?({names})", "", regex=True).replace("", "none")
    with pytest.warns(UserWarning, match="no label names an other cause"):
        model.fit(cases)
