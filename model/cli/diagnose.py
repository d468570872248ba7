"""``diagnose ID=VALUE ...``: one case, ranked conditions and triage."""

from __future__ import annotations

import argparse

from ..errors import HeelnetError
from .common import DISCLAIMER, PROG, model_of

__all__ = ["NAME", "add", "run"]

NAME = "diagnose"


def add(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Declare the command and its arguments."""
    diagnose = commands.add_parser(
        "diagnose", parents=[common], help="rank the conditions for one case",
        description="Rank the conditions and triage one case, e.g. "
                    f"{PROG} diagnose age_years=41 pain_heel_back=yes swelling=no")
    diagnose.add_argument("items", nargs="*", metavar="ID=VALUE")
    diagnose.add_argument("--top", type=int, default=5, help="conditions to show (default 5)")
    diagnose.add_argument("--intervals", action="store_true",
                          help="show each probability's 90%% interval over the plausible "
                               "ranges of the model's numbers")


def run(args: argparse.Namespace) -> int:
    """Rank the conditions for one case."""
    if args.top < 1:
        raise HeelnetError(f"--top must be a whole number of at least 1; got {args.top}")
    findings = {}
    for item in args.items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise HeelnetError(f"give each item as ID=VALUE, such as pain_heel_back=yes; "
                               f"got '{item}'")
        if name.strip() in findings:
            raise HeelnetError(f"'{name.strip()}' is given twice; give each item once")
        findings[name.strip()] = value
    from ..engine.interpreted import interpreting
    from ..result import modelled, no_diagnosis_label

    with interpreting():  # one case: no need to load numba's compiled kernel (~0.7 s)
        result = model_of(args).diagnose(findings, intervals=args.intervals)
    width = max(len(c) for c, _ in result.ranked[:args.top])
    for condition, p in result.ranked[:args.top]:
        span = ""
        if result.intervals is not None:
            low, high = result.intervals[condition]
            span = f"  ({low:6.1%} to {high:6.1%})"
        print(f"{condition:<{width}}  {p:6.1%}{span}  {'#' * round(40 * p)}")
    if result.intervals is not None:
        print("\n(in brackets: 90% interval over the plausible ranges of the model's numbers)")
    if result.other_causes:
        print("\nother causes (not diagnoses, never ranked):")
        wide = max(len(c) for c in result.other_causes)
        for cause, p in result.other_causes.items():
            print(f"  {cause:<{wide}}  {p:6.1%}")
        print(f"\n{no_diagnosis_label(result)}: {result.p_no_diagnosis:.1%}")
    print(f"{'' if result.other_causes else chr(10)}none of the {modelled(result)}: "
          f"{result.p_none:.1%} "
          "(conditions can occur together, so the figures need not add up to 100%)")
    print(f"\ntriage: {result.triage}")
    for flag in result.red_flags:
        print(f"  - {flag}")
    print(f"\n{DISCLAIMER} Probabilities, not a diagnosis.")
    return 0
