"""A priors folder whose other cause sits in the middle of the conditions.

An other cause (a condition of type ``other``) is a node of the network like any
condition but never a diagnosis. The shipped priors list their other causes after the
diagnoses; these tests move ``other_calf_cause`` into the middle (after
``deep_vein_thrombosis``), so that code which assumed "diagnoses first" would fail.
"""

from __future__ import annotations

import shutil
from pathlib import Path

PRIORS = Path(__file__).parent.parent / "priors"
#: The other cause moved, and the condition its vocabulary row then follows.
OTHER_CAUSE = "other_calf_cause"
AFTER = "deep_vein_thrombosis"


def priors_with_other_causes(target: Path) -> Path:
    """Write ``priors/`` into ``target`` with ``OTHER_CAUSE`` moved after ``AFTER``."""
    shutil.copytree(PRIORS, target)
    path = target / "vocabulary.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    row = next(line for line in lines if line.startswith(f"condition,{OTHER_CAUSE},other,"))
    lines.remove(row)
    at = next(i for i, line in enumerate(lines) if line.startswith(f"condition,{AFTER},"))
    lines.insert(at + 1, row)
    path.write_text("".join(lines), encoding="utf-8")
    return target
