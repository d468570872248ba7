"""Refit the numbers of priors/ that a derivation fits to a stated figure.

Run this on purpose, after editing a number that others were fitted around:
``python tests/refit_priors.py``. Many rows of ``priors/`` are not read off a paper
directly but chosen so that the model reproduces a published figure: a baseline so
that the model's rate over a group equals a published incidence ("21.5 per 100,000 =
0.000215 for the whole population"), a risk ratio so that a share or a ratio comes
out as published ("252/63 = 4.0"). ``tests/test_derivations.py`` lists each such
figure (``CHECKS``) and fails when an edit elsewhere moves the model off it. This
script refits them in the parameters table (``Model.from_parameters``, no file
written until the end):

1. every baseline, exactly: baseline = figure / (the model's rate over the group per
   unit of baseline), and the derivation's "population average ... = A" and
   "baseline = F / A = B" are rewritten with the new numbers;
2. every other stated figure that the model misses by more than its tolerance, by
   scaling its row (on the odds for a share, on the ratio otherwise), when exactly one
   figure names that row; a row named by several figures is reported, not moved;

then repeats until nothing moves, lists any stated figure still missed (those of
rows named by several figures, say), re-derives the links of ``other_heel_cause``
that follow a rule rather than a figure (``test_derivations.AVERAGED``: the mean
link of posterior heel pain's diagnoses) where the rule has moved, and writes the
moved rows back into their files
with :func:`model.fit_files.write_priors` (every other line kept byte for byte; the
folder is reloaded and checked before any file is replaced). It prints each change.
Review the diff of ``priors/`` like code: a fitted row's derivation may state its old
value in words, which this script reports but does not rewrite.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model import Model
from model.files import write_atomic
from model.fit_files import write_priors
from tests.population import Population, close
from tests.test_derivations import (
    AVERAGED,
    CHECKS,
    Check,
    follows_rule,
    heel_pain_mean_link,
    one_row,
    row_of,
)

PRIORS = Path(__file__).resolve().parents[1] / "priors"
BASELINE = re.compile(r"^= \S+ for ")
AVERAGE = re.compile(r"= ([0-9.e+-]+) \(exact: the model's")
ARITHMETIC = re.compile(r"baseline = ([0-9.e+-]+) / [0-9.e+-]+ = [0-9.e+-]+")


def _g(x: float) -> str:
    return f"{x:.4g}"


def _set(table: pd.DataFrame, at: int, value: float, derivation: str | None = None) -> None:
    """Move one row. Its range moves with it: a rule's range stays a rule (blank cells
    in the file), a range given in the row is scaled by the same factor."""
    new = float(_g(value))
    if table.at[at, "range_rule"]:
        table.at[at, "low"] = table.at[at, "high"] = ""
    else:
        factor = new / float(table.at[at, "value"])
        for end in ("low", "high"):
            table.at[at, end] = float(_g(float(table.at[at, end]) * factor))
    table.at[at, "value"] = new
    if derivation is not None:
        table.at[at, "derivation"] = derivation


def rebaseline(table: pd.DataFrame, check: Check, population: Population) -> int | None:
    """Set one baseline so the model's rate over the check's group is its figure; the
    row moved, or None."""
    at = row_of(table, check).name
    old = float(table.at[at, "value"])
    average = check.compute(population) / old
    new = check.figure / average
    if float(_g(new)) == old:
        return None
    text = AVERAGE.sub(f"= {_g(average)} (exact: the model's", table.at[at, "derivation"],
                       count=1)
    text = ARITHMETIC.sub(lambda m: f"baseline = {m[1]} / {_g(average)} = {_g(new)}", text,
                          count=1)
    _set(table, at, new, text)
    print(f"  baseline {check.node}: {old:g} -> {_g(new)} (population average {_g(average)})")
    return at


def refit(table: pd.DataFrame, check: Check, population: Population) -> int | None:
    """Scale the one row a stated figure names until the model gives the figure; the row
    moved, or None."""
    got = check.compute(population)
    if close(got, check.figure, check.tolerance):
        return None
    if check.table in ("condition_prior", "context_prior"):
        print(f"  {check.name}: {got:.4g} against {check.figure:.4g}; refit by hand")
        return None
    at = row_of(table, check).name
    old = float(table.at[at, "value"])
    if check.figure < 1 and got < 1:  # a share: scale the odds
        factor = check.figure / (1 - check.figure) / (got / (1 - got))
    else:
        factor = check.figure / got
    _set(table, at, old * factor)
    stale = (" (its derivation states the old value: edit it)"
             if f"{old:g}" in table.at[at, "derivation"] else "")
    print(f"  {check.name}: {got:.4g} -> {check.figure:.4g}; {old:g} -> "
          f"{table.at[at, 'value']:g}{stale}")
    return at


def reaverage(table: pd.DataFrame, model: Model) -> list[int]:
    """Re-derive other_heel_cause's averaged links by their rule (the mean link over
    posterior heel pain's diagnoses, weighted by their probability given it) where an
    edit has moved the mean; the rows moved. The rule reads the other rows only, so one
    pass on the final model is enough."""
    moved = []
    for finding in AVERAGED:
        at = one_row(table, "likelihood", finding, "other_heel_cause").name
        old = float(table.at[at, "value"])
        want = heel_pain_mean_link(model, table, finding)
        if follows_rule(old, want):
            continue
        new = round(want, 2)
        _set(table, at, new, re.sub(r"^[0-9.]+:", f"{_g(new)}:", table.at[at, "derivation"]))
        print(f"  {finding} | other_heel_cause: {old:g} -> {_g(new)} (its averaging rule)")
        moved.append(at)
    return moved


def main(rounds: int = 10) -> None:
    model = Model.from_directory(PRIORS)
    table = model.parameters()
    table[["low", "high"]] = table[["low", "high"]].astype(object)  # "": a rule's range
    keys = [(c.table, c.node, c.parent, c.state) for c in CHECKS if not BASELINE.match(c.words)]
    shared = {key for key in keys if keys.count(key) > 1}
    for key in sorted(shared):
        print(f"  {' | '.join(key)}: named by several figures; not refitted, check by hand")
    population = Population(model)
    moved: set[int] = set()
    for _ in range(rounds):
        moved_now = False
        for check in CHECKS:
            if check.table == "condition_prior" and BASELINE.match(check.words):
                at = rebaseline(table, check, population)
            elif (check.table, check.node, check.parent, check.state) not in shared:
                at = refit(table, check, population)
            else:
                continue
            if at is not None:
                moved.add(at)
                moved_now = True
                population = Population(Model.from_parameters(table))
        if not moved_now:
            break
    else:
        print(f"still moving after {rounds} rounds: look at the changes above")
    for check in CHECKS:
        got = check.compute(population)
        if not close(got, check.figure, check.tolerance):
            print(f"  still off: {check.name}: {got:.4g} against {check.figure:.4g}")
    moved.update(reaverage(table, population.model))
    changed_rows = sorted(moved)
    if changed_rows:
        with tempfile.TemporaryDirectory() as work:  # priors/ is a package: copy files back
            written = write_priors(Path(work) / "priors", model, table, changed_rows)
            for name in sorted({Path(f).name for f in table.loc[changed_rows, "file"]}):
                text = (written / name).read_text(encoding="utf-8")
                write_atomic(PRIORS / name, lambda handle, text=text: handle.write(text))
    print(f"{len(changed_rows)} rows refitted")


if __name__ == "__main__":
    main()
