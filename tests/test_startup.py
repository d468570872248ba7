"""A fresh process stays light: what ``import model``, ``python -m model diagnose``
and ``diagnose()`` import, in that order, in one subprocess (so nothing this test
session imported counts)."""

from __future__ import annotations

import json
import subprocess
import sys

#: Never imported for one diagnosis: the exact fallback, metrics, reports, Dask.
HEAVY = {"pgmpy", "sklearn", "matplotlib", "dask", "distributed"}
#: Not even the compiled kernel for a one-case command (see model/engine/interpreted.py).
JIT = {"numba", "scipy"}

SCRIPT = """
import json, sys
def loaded():
    return sorted({name.split(".")[0] for name in sys.modules})
steps = {}
import model
steps["import"] = loaded()
from model.cli import main
assert main(["diagnose", "age_years=41", "pain_heel_back=yes", "swelling=no"]) == 0
steps["command line"] = loaded()
model.diagnose({"age_years": 41, "pain_heel_back": True, "swelling": False})
steps["diagnose()"] = loaded()
print(json.dumps(steps))
"""


def test_a_fresh_process_imports_only_what_each_step_needs():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         check=True)
    steps = {k: set(v) for k, v in json.loads(out.stdout.splitlines()[-1]).items()}
    assert not steps["import"] & (HEAVY | JIT)
    assert not steps["command line"] & (HEAVY | JIT)
    assert not steps["diagnose()"] & HEAVY
    assert "numba" in steps["diagnose()"]  # the check can fail: diagnose() loads the kernel
