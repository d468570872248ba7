"""Refit the numbers of priors/ that a derivation fits to a stated figure.

Run this on purpose, after editing a number that others were fitted around:
``python tests/refit_priors.py``. Many rows of ``priors/`` are not read off a paper
directly but chosen so that the model reproduces a published figure: a baseline so
that the model's rate over a group equals a published incidence ("21.5 per 100,000 =
0.000215 for the whole population"), a risk ratio so that a share or a ratio comes
out as published ("252/63 = 4.0"). ``tests/test_derivations.py`` lists each such
figure (``CHECKS``) and fails when an edit elsewhere moves the model off it. This
script refits them:

1. every baseline, exactly: baseline = figure / (the model's rate over the group per
   unit of baseline), and the derivation's "population average ... = A" and
   "baseline = F / A = B" are rewritten with the new numbers;
2. every other stated figure that the model misses by more than its tolerance, by
   scaling its row (on the odds for a share, on the ratio otherwise), when exactly one
   figure names that row; a row named by several figures is reported, not moved;

then repeats until nothing moves, and lists any stated figure still missed (those of
rows named by several figures, say). It prints each change. Review the diff of
``priors/`` like code: a fitted row's derivation may state its old value in words,
which this script reports but does not rewrite.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model import Model
from tests.population import Population
from tests.test_derivations import CHECKS, Check

PRIORS = Path(__file__).resolve().parents[1] / "priors"
#: Which file and key columns hold each table's rows.
FILES = {"condition_prior": ("conditions.csv", ("condition", "parent", "state")),
         "risk_ratio": ("conditions.csv", ("condition", "parent", "state")),
         "context_prior": ("context.csv", ("node", "parent", "parent_state")),
         "context_risk_ratio": ("context.csv", ("node", "parent", "parent_state"))}
BASELINE = re.compile(r"^= \S+ for ")
AVERAGE = re.compile(r"= ([0-9.e+-]+) \(exact: the model's")
ARITHMETIC = re.compile(r"baseline = ([0-9.e+-]+) / [0-9.e+-]+ = [0-9.e+-]+")


def _read(name: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO((PRIORS / name).read_text(encoding="utf-8"))))


def _write(name: str, rows: list[list[str]]) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    (PRIORS / name).write_text(out.getvalue(), encoding="utf-8")


def _row(rows: list[list[str]], check: Check) -> list[str] | None:
    head = rows[0]
    keys = [head.index(k) for k in FILES[check.table][1]]
    want = [check.node, check.parent, check.state]
    hits = [r for r in rows[1:] if [r[k] for k in keys] == want]
    return hits[0] if len(hits) == 1 else None


def _g(x: float) -> str:
    return f"{x:.4g}"


def rebaseline(check: Check, population: Population) -> bool:
    """Set one baseline so the model's rate over the check's group is its figure."""
    rows = _read("conditions.csv")
    head, row = rows[0], _row(rows, check)
    if row is None:
        print(f"  {check.node}: no single baseline row")
        return False
    value_at, text_at = head.index("value"), head.index("derivation")
    old = float(row[value_at])
    average = check.compute(population) / old
    new = check.figure / average
    if float(_g(new)) == old:
        return False
    text = AVERAGE.sub(f"= {_g(average)} (exact: the model's", row[text_at], count=1)
    text = ARITHMETIC.sub(lambda m: f"baseline = {m[1]} / {_g(average)} = {_g(new)}", text,
                          count=1)
    row[value_at], row[text_at] = _g(new), text
    _write("conditions.csv", rows)
    print(f"  baseline {check.node}: {old:g} -> {_g(new)} (population average {_g(average)})")
    return True


def refit(check: Check, population: Population) -> bool:
    """Scale the one row a stated figure names until the model gives the figure."""
    got = check.compute(population)
    if abs(got / check.figure - 1) <= check.tolerance:
        return False
    name = FILES[check.table][0]
    rows = _read(name)
    head, row = rows[0], _row(rows, check)
    if row is None or check.table in ("condition_prior", "context_prior"):
        print(f"  {check.name}: {got:.4g} against {check.figure:.4g}; refit by hand")
        return False
    value_at = head.index("value")
    old = float(row[value_at])
    if check.figure < 1 and got < 1:  # a share: scale the odds
        factor = check.figure / (1 - check.figure) / (got / (1 - got))
    else:
        factor = check.figure / got
    row[value_at] = _g(old * factor)
    _write(name, rows)
    stale = " (its derivation states the old value: edit it)" if f"{old:g}" in row[-1] else ""
    print(f"  {check.name}: {got:.4g} -> {check.figure:.4g}; {old:g} -> {row[value_at]}{stale}")
    return True


def main(rounds: int = 10) -> None:
    named = Counter((c.table, c.node, c.parent, c.state) for c in CHECKS
                    if not BASELINE.match(c.words))
    shared = {key for key, n in named.items() if n > 1}
    for key in sorted(shared):
        print(f"  {' | '.join(key)}: named by several figures; not refitted, check by hand")
    for _ in range(rounds):
        moved = False
        for check in CHECKS:
            population = Population(Model.from_directory(PRIORS))
            if check.table == "condition_prior" and BASELINE.match(check.words):
                moved |= rebaseline(check, population)
            elif (check.table, check.node, check.parent, check.state) not in shared:
                moved |= refit(check, population)
        if not moved:
            break
    else:
        print(f"still moving after {rounds} rounds: look at the changes above")
    population = Population(Model.from_directory(PRIORS))
    off = [(c, c.compute(population)) for c in CHECKS]
    off = [(c, got) for c, got in off if abs(got / c.figure - 1) > c.tolerance]
    for check, got in off:
        print(f"  still off: {check.name}: {got:.4g} against {check.figure:.4g}")
    if not off:
        print("every stated figure holds")


if __name__ == "__main__":
    main()
