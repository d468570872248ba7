"""Input validation: accepted spellings, and one test per error message."""

from __future__ import annotations

import math

import pytest

from model import HeelnetError, InvalidValueError, UnknownIdError, diagnose, evidence


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(True, True), (False, False), (1, True), (0, False), ("yes", True), ("No", False),
     ("TRUE", True), ("false", False), ("1", True), ("0", False), (1.0, True)],
)
def test_boolean_spellings(model, raw, expected):
    assert model.vocabulary.validate({"swelling": raw}) == {"swelling": expected}


@pytest.mark.parametrize("blank", [None, "", "  ", math.nan])
def test_blank_means_not_asked(model, blank):
    assert model.vocabulary.validate({"swelling": blank, "age_years": blank}) == {}


def test_age_and_sex_spellings(model):
    given = model.vocabulary.validate({"age_years": "41", "sex": "Female"})
    assert given == {"age_years": 41, "sex": "female"}
    assert evidence({"age_years": 11, "sex": "male", "fever": False})["age_band"] == "age_8_14"


def test_unknown_finding_names_the_closest_ids():
    with pytest.raises(UnknownIdError, match=r"unknown finding 'pain_heal_back'; did you mean 'pain_heel_back'"):
        diagnose({"pain_heal_back": True})


def test_unknown_name_with_nothing_close():
    with pytest.raises(UnknownIdError, match=r"^unknown finding 'zzzzqqq'$"):
        diagnose({"zzzzqqq": True})


def test_a_condition_is_not_an_input():
    with pytest.raises(UnknownIdError, match=r"'gout' is a condition, not a finding or context item"):
        diagnose({"gout": True})


def test_bad_boolean_value():
    with pytest.raises(InvalidValueError, match=r"'swelling' must be yes/no, true/false or 1/0 .*got 'maybe'"):
        diagnose({"swelling": "maybe"})


@pytest.mark.parametrize("age", [250, -1, 41.5, "forty", "4e1", True])
def test_bad_age(age):
    with pytest.raises(InvalidValueError, match=r"'age_years' must be a whole number from 0 to 120; got"):
        diagnose({"age_years": age})


def test_bad_sex():
    with pytest.raises(InvalidValueError, match=r"'sex' must be 'female' or 'male' .*got 'alien'"):
        diagnose({"sex": "alien"})


def test_findings_must_be_a_mapping():
    with pytest.raises(HeelnetError, match=r"findings must be a mapping .* got list"):
        diagnose(["pain_heel_back"])  # type: ignore[arg-type]


def test_names_must_be_strings():
    with pytest.raises(UnknownIdError, match=r"finding names must be strings; got 3"):
        diagnose({3: True})  # type: ignore[dict-item]


def test_errors_are_value_errors():
    for cls in (HeelnetError, UnknownIdError, InvalidValueError):
        assert issubclass(cls, ValueError)


def test_numpy_and_pandas_scalars_are_accepted(model):
    """Values taken from a DataFrame row arrive as numpy scalars."""
    import numpy as np
    import pandas as pd

    row = pd.DataFrame({"swelling": [True], "age_years": [41]}).iloc[0]
    assert model.vocabulary.validate({"swelling": np.True_, "age_years": np.int64(41)}) == {"swelling": True, "age_years": 41}
    assert model.vocabulary.validate(row.to_dict()) == {"swelling": True, "age_years": 41}
    with pytest.raises(InvalidValueError, match=r"'age_years' must be a whole number from 0 to 120; got 250"):
        model.vocabulary.validate({"age_years": np.int64(250)})


@pytest.mark.parametrize(("raw", "expected"), [("1.0", True), ("0.0", False), (" 1.00 ", True),
                                               ("0.", False)])
def test_pandas_float_spellings_of_booleans(model, raw, expected):
    """Issue 14: pandas writes 0/1 columns with blanks as 1.0/0.0; the API took 1.0, the
    files did not."""
    assert model.vocabulary.validate({"swelling": raw, "age_years": "41.0"}) == {
        "swelling": expected, "age_years": 41}


@pytest.mark.parametrize("raw", ["2.0", "1.5", "-1.0", "1e0"])
def test_other_numbers_are_not_booleans(model, raw):
    with pytest.raises(InvalidValueError, match="'swelling' must be yes/no"):
        model.vocabulary.validate({"swelling": raw})


@pytest.mark.parametrize(("raw", "shown"), [
    ("array", "a numpy array of 2 values"), ("series", "a pandas Series of 1 value"),
    ("list", "a list of 2 values"), ("tuple", "a tuple of 1 value"), ("dict", "a dict of 1 value"),
])
def test_several_values_are_an_error_not_not_asked(raw, shown):
    """Issue 14: a numpy array or pandas Series as a value was silently "not asked"."""
    import numpy as np
    import pandas as pd

    value = {"array": np.array([True, False]), "series": pd.Series([True]),
             "list": [True, False], "tuple": (True,), "dict": {"a": 1}}[raw]
    with pytest.raises(InvalidValueError,
                       match=f"^'swelling' must be one value, not several; got {shown}$"):
        diagnose({"swelling": value})


def test_conditions_are_diagnoses_and_other_causes(other_model, model):
    """A condition row of type 'other' is an other cause: a network node, not a diagnosis."""
    vocab = other_model.vocabulary
    assert "other_calf_cause" in vocab.other_causes
    assert vocab.other_causes == tuple(c for c in vocab.conditions if vocab[c].type == "other")
    assert set(vocab.diagnoses) | set(vocab.other_causes) == set(vocab.conditions)
    assert not set(vocab.diagnoses) & set(vocab.other_causes)
    assert vocab.is_other_cause("other_calf_cause") and not vocab.is_other_cause("gout")
    assert not vocab.is_other_cause("swelling") and not vocab.is_other_cause("no_such_id")
    assert vocab.diagnoses == tuple(c for c in vocab.conditions if vocab[c].type == "bool")
    shipped = model.vocabulary
    assert shipped.diagnoses == tuple(c for c in shipped.conditions if c not in
                                      shipped.other_causes)


def test_a_condition_of_another_type_is_refused(toy_copy):
    from model import Model, PriorsError

    path = toy_copy / "vocabulary.csv"
    path.write_text(path.read_text().replace("condition,tear,bool", "condition,tear,enum"))
    with pytest.raises(PriorsError, match=r"vocabulary: condition 'tear' has type 'enum'; a "
                                          r"condition's type must be 'bool' \(a diagnosis\) or "
                                          r"'other' \(another cause"):
        Model.from_directory(toy_copy)


def test_an_other_cause_is_not_an_input(other_model):
    with pytest.raises(UnknownIdError, match="'other_calf_cause' is a condition, not a finding"):
        other_model.vocabulary.validate({"other_calf_cause": True})
