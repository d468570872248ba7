"""``fit CASES.csv -o DIR``: update the numbers from labelled cases into a priors folder."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import HeelnetError
from .common import DISCLAIMER, PROG, model_of

__all__ = ["NAME", "add", "run"]

NAME = "fit"
#: Moved numbers listed after a fit.
SHOWN = 10


def add(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Declare the command and its arguments."""
    fit = commands.add_parser(
        "fit", parents=[common], help="update the links and leaks from labelled cases",
        description="Update the noisy-OR links and leaks from labelled cases (a CSV as for "
                    "score, with expected_condition: the conditions present, joined by |, or "
                    "'none'), each number's plausible range as its prior, and write a priors "
                    f"folder that {PROG} --priors DIR ... loads. Nothing is written unless "
                    "every case can be read.")
    fit.add_argument("input", metavar="CASES.csv")
    fit.add_argument("-o", "--output", metavar="DIR", required=True,
                     help="the priors folder to write (new, empty, or an old priors folder)")
    fit.add_argument("--strength", type=float, default=1.0,
                     help="multiplies each prior's effective sample size (default 1)")
    fit.add_argument("--tables", default="likelihood,leak",
                     help="comma-separated tables to fit (default likelihood,leak); "
                          "condition_prior and risk_ratio only from a sample of the whole "
                          "population, never from a case series chosen for its conditions")
    fit.add_argument("--exclude", metavar="FINDING", action="append", default=[],
                     help="keep this finding's links and leak as they are (repeatable): the "
                          "presenting complaint that selected the cases")


def _read(path: str) -> tuple[pd.DataFrame, np.ndarray]:
    from ..files import read_csv

    frames, errors = [], []
    chunks = read_csv(path, 1 << 16)
    for frame, bad in chunks:
        frames.append(frame)
        errors.append(bad)
    if not frames:
        raise HeelnetError(f"'{path}' has a header but no cases")
    cases = pd.concat(frames, ignore_index=True)
    return cases.replace("", None), np.concatenate(errors)


def run(args: argparse.Namespace) -> int:
    """Fit, write the folder, say what moved."""
    if not args.strength > 0:
        raise HeelnetError(f"--strength must be a number above 0; got {args.strength}")
    model = model_of(args)
    cases, errors = _read(args.input)
    tables = [t.strip() for t in args.tables.split(",") if t.strip()]
    result = model.fit(cases, strength=args.strength, tables=tables, exclude=args.exclude,
                       label=f"labelled cases in {Path(args.input).name}", pre_errors=errors)
    path = result.write(args.output)
    print(f"wrote {path}: {len(result.changes)} numbers moved by {result.cases} labelled cases")
    moved = result.changes.assign(shift=(result.changes.value - result.changes.old).abs())
    for rec in moved.sort_values("shift", ascending=False).head(SHOWN).itertuples():
        what = {"likelihood": f"P({rec.node} | {rec.parent})", "leak": f"leak of {rec.node}",
                "condition_prior": f"baseline P({rec.node})",
                "risk_ratio": f"risk ratio of {rec.node} for {rec.parent} = "
                              f"{rec.parent_state}"}[rec.table]
        print(f"  {what:<55} {rec.old:8.4g} -> {rec.value:8.4g}  "
              f"[{rec.low:.4g}, {rec.high:.4g}]  {rec.cases:g} cases")
    print(f"\nUse it: {PROG} --priors {path} ...\n{DISCLAIMER}")
    return 0
