"""A fresh process stays light: what ``import model``, ``diagnose()`` and
``python -m model diagnose`` import (each in a subprocess, so nothing this test
session imported counts)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Never imported for one diagnosis: the exact fallback, metrics, reports, Dask.
HEAVY = ("pgmpy", "sklearn", "matplotlib", "dask", "distributed")
CASE = {"age_years": 41, "pain_heel_back": True, "swelling": False}


def imported_after(code: str) -> set[str]:
    """Top-level packages in ``sys.modules`` after running ``code`` in a fresh process."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    return {name.split(".")[0] for name in json.loads(out.stdout.splitlines()[-1])}


def test_import_model_is_light():
    loaded = imported_after("import model")
    assert not loaded & {*HEAVY, "numba", "scipy"}


def test_diagnose_imports_no_pgmpy_nor_tools():
    loaded = imported_after(f"import model\nmodel.diagnose({CASE!r})")
    assert not loaded & set(HEAVY)


@pytest.mark.parametrize("items", [["age_years=41", "pain_heel_back=yes", "swelling=no"], []])
def test_command_line_diagnosis_does_not_load_numba(items):
    code = ("from model.cli import main\n"
            f"assert main(['diagnose', *{items!r}]) == 0")
    loaded = imported_after(code)
    assert not loaded & {*HEAVY, "numba", "scipy"}
