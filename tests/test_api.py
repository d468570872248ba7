"""The public surface: exactly what model/__init__.py exports, and the contract's calls."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

import model
from model import Diagnosis, diagnose


def test_all_is_exactly_what_the_package_exports():
    """httpx's test: every public name of the package is in __all__, and nothing else
    (submodules are namespaces, not exports)."""
    public = {name for name, value in vars(model).items()
              if not name.startswith("_") and not inspect.ismodule(value)}
    assert model.__all__ == sorted(model.__all__)
    assert set(model.__all__) == public


def test_all_is_pinned():
    assert model.__all__ == [
        "Diagnosis", "Explanation", "HeelnetError", "ImpossibleEvidenceError", "Interview",
        "InvalidValueError", "Model", "PriorsError",
        "Question", "Sensitivity", "Summary", "UnknownIdError", "diagnose", "evaluate",
        "evidence", "explain", "export_network", "network", "next_questions", "parameters",
        "scale_baseline", "score", "sensitivity", "simulate", "sweep", "widen_age_window",
    ]


def test_contract_example():
    result = diagnose({"age_years": 11, "jumping_sport": True, "pain_heel_back": True,
                       "heel_squeeze_tender": True, "swelling": False})
    assert isinstance(result, Diagnosis)
    assert [c for c, _ in result.ranked] == sorted(result.probabilities, key=lambda c: -result.probabilities[c])
    assert len(result.ranked) == len(model.Model.default().diagnoses) == 28
    assert all(0.0 <= p <= 1.0 for p in result.probabilities.values())
    assert result.triage in {"emergency", "see_doctor", "self_care"}
    assert isinstance(result.red_flags, tuple)
    assert result.ranked[0][0] == "severs_disease"


def test_result_is_frozen():
    result = diagnose({"pain_heel_back": True})
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.triage = "self_care"  # type: ignore[misc]


def test_result_shows_well():
    result = diagnose({"pain_above_heel": True, "palpable_gap": True})
    assert "triage='emergency'" in repr(result)
    html = result._repr_html_()
    assert "achilles_rupture" in html and "not a diagnosis" in html


def test_not_asked_differs_from_absent():
    asked = diagnose({"pain_heel_back": True, "fever": False}).probabilities["bone_infection"]
    not_asked = diagnose({"pain_heel_back": True}).probabilities["bone_infection"]
    assert asked < not_asked
