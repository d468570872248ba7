"""The loader: what it accepts, and that a broken file is named with its line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from model import Model, PriorsError
from model.knowledge import load_priors


def edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text()
    assert old in text, f"test setup: {old!r} not in {name}"
    path.write_text(text.replace(old, new, 1))


BROKEN = [
    # (file, old text, new text, expected message)
    ("likelihoods.csv", "pain,tendon,0.7", "pain,tendon,1.5",
     r"likelihoods.csv, line 2: P\(pain \| tendon\) must be from 0 to 1; got 1.5"),
    ("likelihoods.csv", "pain,tendon,0.7", "pain,tendon,high",
     r"likelihoods.csv, line 2: P\(pain \| tendon\) must be a number from 0 to 1; got 'high'"),
    ("likelihoods.csv", "lump,tendon", "lumpp,tendon",
     r"likelihoods.csv, line 4: unknown finding 'lumpp'; did you mean 'lump'\?"),
    ("likelihoods.csv", "pain,tear,0.9", "pain,tendon,0.9",
     r"likelihoods.csv, line 3: link tendon -> pain is given twice"),
    ("leaks.csv", "lump,0.01,assumption,toy number,\n", "",
     r"leaks.csv: finding 'lump' has no leak row"),
    ("leaks.csv", "lump,0.01", "lump,1",
     r"leaks.csv, line 3: a leak of 1 would make lump uninformative"),
    ("context.csv", "sex,male,0.5", "sex,male,0.6",
     r"context.csv, line 4: the states of 'sex' \(female, male\) need one row each, adding up to 1; got 1.1"),
    ("context.csv", "age_band,age_18_120", "age_band,age_19_120",
     r"context.csv, line 3: age band age_19_120 should start at 18 years"),
    ("context.csv", "runner,yes", "runner,maybe",
     r"context.csv, line 6: state of 'runner' must be yes; got 'maybe'"),
    ("conditions.csv", "tendon,runner,yes,3", "tendon,runner,yes,30",
     r"conditions.csv, line 2: P\(tendon\) reaches 3 > 1 for its riskiest combination"),
    ("conditions.csv", "tendon,age_band,age_0_17", "tendon,tear,yes",
     r"the condition edges form a cycle: (tendon -> tear -> tendon|tear -> tendon -> tear)"),
    ("conditions.csv", "tear,sex,male", "tear,sex,alien",
     r"conditions.csv, line 7: state of 'sex' must be one of female, male; got 'alien'"),
    ("conditions.csv", "tear,sex,male", "tear,sexx,male",
     r"conditions.csv, line 7: unknown parent \(a context node or condition\) 'sexx'; did you mean 'sex'\?"),
    ("conditions.csv", "tear,,,0.05", "tear,sex,female,0.05",
     r"conditions.csv: condition 'tear' has no baseline row"),
    ("conditions.csv", "tendon,,,0.1,assumption,toy number", "tendon,,,0.1,guess,toy number",
     r"conditions.csv, line 2: source_kind must be one of seed, literature, assumption, data; got 'guess'"),
    ("conditions.csv", "tendon,,,0.1,assumption,toy number", "tendon,,,0.1,assumption,",
     r"conditions.csv, line 2: source is empty; every number needs its source"),
    ("triage.csv", "tear_likely,emergency", "tear_likely,urgent",
     r"triage.csv, line 2: level must be one of emergency, see_doctor; got 'urgent'"),
    ("triage.csv", "pain&lump", "pain&lumb",
     r"triage.csv, line 3: unknown finding 'lumb'; did you mean 'lump'\?"),
    ("triage.csv", "see_doctor,pain&lump,,,", "see_doctor,pain&lump,,0.2,",
     r"triage.csv, line 3: a threshold needs a condition"),
    ("triage.csv", "tear,0.5,A tear is likely", "tear,0.5,",
     r"triage.csv, line 2: wording is empty"),
    ("likelihoods.csv", "pain,tendon,0.7,", "pain,tendon,0.7,x,y,z,",
     r"likelihoods.csv, line 2: more cells than the header has columns"),
    ("likelihoods.csv", "lump,tendon", "lump,tendn",
     r"likelihoods.csv, line 4: unknown condition 'tendn'; did you mean 'tendon'\?"),
    ("context.csv", "age_band,age_0_17", "age_band,teens",
     r"context.csv, line 2: age_band states must look like age_8_14; got 'teens'"),
    ("context.csv", "age_band,age_18_120", "age_band,age_18_99",
     r"context.csv, line 3: the last age band must end at 120 years"),
    ("context.csv", "runner,yes,0.3,assumption,toy number,\n", "",
     r"context.csv: context node 'runner' has no prior rows"),
    ("context.csv", "sex,female", "sex,male",
     r"context.csv, line 5: 'sex = male' is given twice"),
    ("context.csv", "runner,yes", "runer,yes",
     r"context.csv, line 6: unknown context node 'runer'; did you mean 'runner'\?"),
    ("conditions.csv", "tear,,,0.05", "tendon,,,0.05",
     r"conditions.csv, line 5: 'tendon' has a second baseline row"),
    ("conditions.csv", "tear,tendon,yes", "tear,tear,yes",
     r"conditions.csv, line 6: 'tear' cannot be its own parent"),
    ("conditions.csv", "tear,sex,male", "tear,tendon,yes",
     r"conditions.csv, line 7: risk ratio for 'tendon = yes' given twice"),
    ("conditions.csv", "tendon,runner", "tendn,runner",
     r"conditions.csv, line 3: unknown condition 'tendn'; did you mean 'tendon'\?"),
    ("leaks.csv", "lump,0.01", "pain,0.01",
     r"leaks.csv, line 3: 'pain' has a second leak row"),
    ("leaks.csv", "lump,0.01", "lumpy,0.01",
     r"leaks.csv, line 3: unknown finding 'lumpy'; did you mean 'lump'\?"),
    ("triage.csv", "tear_likely,emergency,,tear", "tear_likely,emergency,,teer",
     r"triage.csv, line 2: unknown condition 'teer'; did you mean 'tear'\?"),
    ("triage.csv", "see_doctor,pain&lump,,,", "see_doctor,,,,",
     r"triage.csv, line 3: a rule needs findings, a condition, or both"),
    ("vocabulary.csv", "finding,lump", "symptom,lump",
     r"vocabulary.csv, line 6: kind must be one of context, finding, condition, triage; got 'symptom'"),
    ("vocabulary.csv", "finding,lump", "finding,pain",
     r"vocabulary: id 'pain' is listed twice"),
    ("vocabulary.csv", "kind,id,type,values,meaning", "kind,id,type,meaning",
     r"vocabulary.csv: missing column\(s\) \['values'\]"),
]


@pytest.mark.parametrize(("name", "old", "new", "message"), BROKEN, ids=[b[3][:40] for b in BROKEN])
def test_broken_file_is_named_with_its_line(toy_copy, name, old, new, message):
    edit(toy_copy, name, old, new)
    with pytest.raises(PriorsError, match=message):
        load_priors(toy_copy)


def test_missing_file_is_named(toy_copy):
    (toy_copy / "leaks.csv").unlink()
    with pytest.raises(PriorsError, match=r"priors/leaks.csv: file not found"):
        load_priors(toy_copy)


def test_missing_column_is_named(toy_copy):
    edit(toy_copy, "leaks.csv", "source_kind", "kind_of_source")
    with pytest.raises(PriorsError, match=r"leaks.csv: missing column\(s\) source_kind"):
        load_priors(toy_copy)


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: t.assign(table=t.table.replace("leak", "leakage")),
     r"parameters table, row \d+ .*: table must be one of .*; got 'leakage'"),
    (lambda t: t.drop(columns="source_kind"), r"parameters table: missing column\(s\) source_kind"),
    (lambda t: t.assign(parent=t.parent.where(t.table != "condition_prior", "sex")),
     r"a condition_prior row has no parent; use table 'risk_ratio' for a row with a parent"),
    (lambda t: t.to_dict(), r"expected the DataFrame from parameters\(\); got dict"),
])
def test_broken_parameters_table_is_named(toy_model, change, message):
    with pytest.raises(PriorsError, match=message):
        Model.from_parameters(change(toy_model.parameters()), toy_model.vocabulary)


def test_every_number_in_the_toy_is_in_parameters(toy_model):
    table = toy_model.parameters()
    assert len(table) == 5 + 6 + 3 + 2 + 2  # one row per CSV data row
    assert set(table.table) == {"context_prior", "condition_prior", "risk_ratio", "likelihood", "leak", "triage_rule"}


def test_from_parameters_round_trip_is_identical(model):
    rebuilt = Model.from_parameters(model.parameters())
    pd.testing.assert_frame_equal(rebuilt.parameters(), model.parameters())
    assert rebuilt.knowledge.links == model.knowledge.links
    assert rebuilt.knowledge.baselines == model.knowledge.baselines


def test_edited_table_equals_edited_files(toy_copy, toy_model):
    edit(toy_copy, "likelihoods.csv", "pain,tendon,0.7", "pain,tendon,0.35")
    from_files = Model.from_directory(toy_copy)
    table = toy_model.parameters()
    table.loc[(table.table == "likelihood") & (table.node == "pain") & (table.parent == "tendon"), "value"] = 0.35
    from_table = Model.from_parameters(table, toy_model.vocabulary)
    case = {"pain": True, "lump": False, "sex": "male"}
    assert from_table.diagnose(case).probabilities == pytest.approx(from_files.diagnose(case).probabilities, abs=1e-12)
    assert from_table.diagnose(case).probabilities != toy_model.diagnose(case).probabilities


def test_edited_table_error_names_the_row(toy_model):
    table = toy_model.parameters()
    table.loc[11, "value"] = 2.0
    with pytest.raises(PriorsError, match=r"parameters table, row 11 \(from .*likelihoods.csv, line 2\): P\(pain \| tendon\) must be from 0 to 1"):
        Model.from_parameters(table, toy_model.vocabulary)


def with_context_risks(folder: Path, rows: str) -> None:
    """Append rows to the toy context.csv, which gains parent columns."""
    path = folder / "context.csv"
    lines = path.read_text().splitlines()
    header = lines[0].replace("node,state,", "node,state,parent,parent_state,")
    body = [f"{b.split(',')[0]},{b.split(',')[1]},,,{','.join(b.split(',')[2:])}" for b in lines[1:]]
    path.write_text("\n".join([header, *body, *rows.strip().splitlines()]) + "\n")


def test_context_may_depend_on_other_context(toy_copy):
    with_context_risks(toy_copy, "runner,yes,age_band,age_0_17,2,assumption,toy number,\n"
                                 "runner,yes,sex,male,1.5,assumption,toy number,")
    kb = load_priors(toy_copy)
    assert kb.context_risk_ratios == {"runner": {"age_band": {"age_0_17": 2.0}, "sex": {"male": 1.5}}}
    table = kb.parameters()
    rows = table[table.table == "context_risk_ratio"]
    assert list(rows.parent) == ["age_band", "sex"] and list(rows.parent_state) == ["age_0_17", "male"]


@pytest.mark.parametrize(("rows", "message"), [
    ("sex,female,age_band,age_0_17,2,assumption,toy,",
     r"only a yes/no context node can have risk ratios, on its 'yes' state; got 'sex = female'"),
    ("runner,yes,age_bnd,age_0_17,2,assumption,toy,",
     r"unknown parent context node 'age_bnd'; did you mean 'age_band'\?"),
    ("runner,yes,age_band,age_0_9,2,assumption,toy,",
     r"state of 'age_band' must be one of age_0_17, age_18_120; got 'age_0_9'"),
    ("runner,yes,sex,male,4,assumption,toy,",
     r"P\(runner = yes\) reaches 1.2 > 1 for its riskiest combination of parent states"),
    ("runner,yes,runner,yes,2,assumption,toy,", r"'runner' cannot be its own parent"),
    ("runner,yes,sex,male,2,assumption,toy,\nrunner,yes,sex,male,3,assumption,toy,",
     r"risk ratio for 'sex = male' given twice"),
])
def test_broken_context_risks_are_named(toy_copy, rows, message):
    with_context_risks(toy_copy, rows)
    with pytest.raises(PriorsError, match=message):
        load_priors(toy_copy)
