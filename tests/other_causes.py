"""A priors folder with an other cause: the shipped priors plus the prototype's rows.

An other cause (a condition of type ``other``) is a node of the network like any
condition but never a diagnosis. The shipped priors have none, so the tests of other
causes use this folder: ``priors/`` with the rows in ``tests/other_cause_rows``
(see its README).
"""

from __future__ import annotations

import shutil
from pathlib import Path

PRIORS = Path(__file__).parent.parent / "priors"
ROWS = Path(__file__).parent / "other_cause_rows"
#: The other cause those rows add, and the condition its vocabulary row follows.
OTHER_CAUSE = "other_calf_cause"
AFTER = "deep_vein_thrombosis"


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def priors_with_other_causes(target: Path) -> Path:
    """Write ``priors/`` plus the other-cause rows into ``target``; return it."""
    shutil.copytree(PRIORS, target)
    vocabulary = _lines(target / "vocabulary.csv")
    at = next(i for i, line in enumerate(vocabulary) if line.startswith(f"condition,{AFTER},"))
    vocabulary[at + 1:at + 1] = _lines(ROWS / "vocabulary.csv")
    (target / "vocabulary.csv").write_text("".join(vocabulary), encoding="utf-8")
    replaced = {line.split(",", 1)[0]: line for line in _lines(ROWS / "leaks.csv")}
    leaks = [replaced.get(line.split(",", 1)[0], line) for line in _lines(target / "leaks.csv")]
    assert sum(a != b for a, b in zip(leaks, _lines(target / "leaks.csv"))) == len(replaced)
    (target / "leaks.csv").write_text("".join(leaks), encoding="utf-8")
    for name in ("conditions.csv", "likelihoods.csv"):
        text = (target / name).read_text(encoding="utf-8")
        ending = "" if text.endswith("\n") else "\n"
        (target / name).write_text(text + ending + (ROWS / name).read_text(encoding="utf-8"),
                                   encoding="utf-8")
    return target
