"""P(none of the modelled conditions | findings), and evidence the model says is impossible
(issue 14): exact against pgmpy, shown wherever posteriors are, and a clear error instead
of NaN posteriors ranked in vocabulary order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pgmpy.inference import VariableElimination

from model import ImpossibleEvidenceError, Model, diagnose, parameters, score
from model.cli import main
from tests.engine.oracle import none_present

TOY = str(Path(__file__).parent / "toy_priors")
TOY_CASES = [{}, {"pain": True}, {"pain": True, "lump": False, "sex": "male"},
             {"age_years": 12, "runner": True, "lump": True}, {"pain": False, "lump": True}]


def pgmpy_p_none(model: Model, case: dict, conditions: tuple[str, ...] | None = None) -> float:
    """P(every one of ``conditions`` = no | evidence), all conditions by default, by the
    chain rule over pgmpy's VE queries (the rest are summed out)."""
    ve = VariableElimination(model.network())
    evidence = dict(model.evidence(case))
    p = 1.0
    for condition in model.conditions if conditions is None else conditions:
        p *= ve.query([condition], evidence=evidence, show_progress=False).get_value(
            **{condition: "no"})
        evidence[condition] = "no"
    return p


@pytest.mark.parametrize("case", TOY_CASES)
def test_p_none_agrees_with_pgmpy_on_the_toy_network(toy_model, case):
    """The toy has a condition -> condition edge (tendon -> tear): 'none' is a joint state."""
    assert toy_model.diagnose(case).p_none == pytest.approx(pgmpy_p_none(toy_model, case),
                                                            abs=1e-12)


def test_p_none_agrees_with_pgmpy_on_the_bundled_network(model):
    case = {"age_years": 41, "running": True, "pain_heel_back": True, "swelling": False,
            "night_or_rest_pain": True}
    assert model.diagnose(case).p_none == pytest.approx(pgmpy_p_none(model, case), abs=1e-12)


def test_the_fast_route_equals_the_engine_held_at_none(model):
    """log_none multiplies P(none, context) by the leaks; the engine held at 'no condition'
    gets the same from the findings themselves."""
    from model.simulate import sample

    cases = sample(model, 300, np.random.default_rng(3))
    _, none, log_z = model.infer_all(cases.context, cases.findings)
    direct = np.exp(none_present(model.engine).log_evidence(cases.context, cases.findings)
                    - log_z)
    assert np.abs(direct - none).max() < 1e-12
    assert ((none >= 0) & (none <= 1)).all()


def test_p_none_is_shown_in_repr_html_the_cli_and_score(model, capsys):
    """Issue 14: a top condition at 7 % with five summing to 19 % looked broken."""
    result = diagnose({"age_years": 41, "pain_heel_back": True})
    assert 0 < result.p_none < 1
    assert f"p_none={result.p_none:.3f}" in repr(result)
    assert f"none of the {len(model.diagnoses)} modelled conditions" in result._repr_html_()
    assert main(["diagnose", "age_years=41", "pain_heel_back=yes"]) == 0
    printed = capsys.readouterr().out
    assert f"none of the {len(model.diagnoses)} modelled conditions" in printed
    assert f": {result.p_none:.1%}" in printed
    out = score(pd.DataFrame({"age_years": [41], "pain_heel_back": ["yes"]}))
    columns = list(out.columns)
    assert columns.index("p_none") == columns.index(f"p_{model.conditions[-1]}") + 1
    assert columns[columns.index("p_none") + 1] == "error"
    assert out.loc[0, "p_none"] == pytest.approx(result.p_none, abs=1e-12)


# ----------------------------------------------------------------------------- impossible


def test_impossible_evidence_on_an_edited_model_names_the_finding():
    """Issue 14: fever's leak and likelihoods set to 0, then fever=yes gave NaN posteriors,
    a ranking in vocabulary order and triage "emergency", silently."""
    table = parameters()
    fever = (table.node == "fever") & table.table.isin(["likelihood", "leak"])
    table.loc[fever, ["value", "low", "high"]] = [0.0, float("nan"), float("nan")]
    edited = Model.from_parameters(table)
    with pytest.raises(ImpossibleEvidenceError, match=r"^fever=yes cannot occur under this "
                                                      r"model \(probability 0\)"):
        edited.diagnose({"fever": True, "pain_heel_back": True, "age_years": 30})
    assert isinstance(ImpossibleEvidenceError("x"), ValueError)
    assert edited.diagnose({"fever": False, "pain_heel_back": True}).p_none > 0


@pytest.fixture(scope="module")
def conflicted() -> Model:
    """Toy model where pain=no rules out tendon, and lump=yes needs tendon."""
    table = Model.from_directory(TOY).parameters()
    table.loc[(table.table == "likelihood") & (table.node == "pain")
              & (table.parent == "tendon"), "value"] = 1.0
    table.loc[(table.table == "leak") & (table.node == "lump"), "value"] = 0.0
    return Model.from_parameters(table, Model.from_directory(TOY).vocabulary)


def test_the_error_names_a_smallest_set_that_cannot_co_occur(conflicted):
    conflicted.diagnose({"pain": False})  # each alone is possible
    conflicted.diagnose({"lump": True})
    with pytest.raises(ImpossibleEvidenceError,
                       match=r"^pain=no and lump=yes cannot occur together under this model"):
        conflicted.diagnose({"runner": True, "age_years": 40, "pain": False, "lump": True})


def test_impossible_rows_in_score_get_their_own_error(conflicted):
    cases = pd.DataFrame({"pain": ["no", "yes", "no"], "lump": ["yes", "yes", "no"]})
    out = score(cases, conflicted)
    assert out.loc[0, "error"].startswith("pain=no and lump=yes cannot occur together")
    assert out.loc[0, "top1"] == "" and np.isnan(out.loc[0, "p_none"])
    assert (out.loc[1:, "error"] == "").all() and out.loc[1:, "p_tendon"].between(0, 1).all()


@pytest.mark.parametrize("other", ["tendon", "tear"])
def test_no_diagnosis_agrees_with_pgmpy_with_an_other_cause(toy_copy, other):
    """P(no diagnosis | evidence), the virtual-finding pass, against the chain rule: with
    the parent (tendon) or the child (tear) of the toy's condition edge an other cause."""
    vocabulary = toy_copy / "vocabulary.csv"
    vocabulary.write_text(vocabulary.read_text().replace(f"condition,{other},bool",
                                                         f"condition,{other},other"))
    model = Model.from_directory(toy_copy)
    assert model.other_causes == (other,)
    for case in TOY_CASES:
        encoded = model.encoding.encode([model.vocabulary.validate(case)])
        got = model.no_diagnosis(*encoded)[0]
        assert got == pytest.approx(pgmpy_p_none(model, case, model.diagnoses), abs=1e-12)
        assert got >= model.diagnose(case).p_none - 1e-15  # other causes may be present
        assert model.diagnose(case).p_no_diagnosis == got


def test_no_diagnosis_lies_between_p_none_and_the_leader(model):
    """On the shipped model (three other causes): p_none <= P(no diagnosis) <= 1 - the
    most probable diagnosis, and other causes are what separates the first two."""
    rng = np.random.default_rng(3)
    cases = [{"age_years": 41, "pain_heel_back": True},
             {"age_years": 50, "calf_tenderness_or_swelling": True}]
    for _ in range(20):
        items = rng.choice(model.findings, size=4, replace=False)
        cases.append({str(f): bool(rng.random() < 0.5) for f in items})
    for case in cases:
        result = model.diagnose(case)
        nothing = model.no_diagnosis(*model.encoding.encode([model.vocabulary.validate(case)]))
        assert result.p_none - 1e-12 <= nothing[0] <= 1 - result.ranked[0][1] + 1e-12
        assert result.p_no_diagnosis == nothing[0]
    assert nothing[0] >= 0 and model.no_diagnosis(
        *model.encoding.encode([model.vocabulary.validate(cases[0])]))[0] > 0.3


def test_p_no_diagnosis_is_shown_beside_p_none(model, capsys):
    """With other causes, 'none of the conditions' means two things; both are shown."""
    result = diagnose({"age_years": 41, "pain_heel_back": True})
    assert result.p_no_diagnosis > result.p_none + 0.3  # unlabelled heel pain is common
    assert "nothing, or only other causes" in result._repr_html_()
    assert main(["diagnose", "age_years=41", "pain_heel_back=yes"]) == 0
    assert f"(nothing, or only other causes): {result.p_no_diagnosis:.1%}" in \
        capsys.readouterr().out
