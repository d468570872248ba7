"""``score IN.csv -o OUT.csv``: score a CSV file of cases, streaming."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path

from ..errors import HeelnetError
from ..metrics import Metrics
from ..scoring import CHUNK_SIZE
from .common import evidence_of, model_of

__all__ = ["NAME", "add", "run"]

NAME = "score"


def add(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Declare the command and its arguments."""
    score = commands.add_parser(
        "score", parents=[common], help="score a CSV of cases (one row per case)",
        description="Score a CSV of cases: one output row per input row, same order. "
                    "Columns are vocabulary ids (blank = not asked) plus optional case_id, "
                    "expected_condition, expected_triage and notes.")
    score.add_argument("input", metavar="IN.csv")
    score.add_argument("-o", "--output", metavar="OUT.csv", required=True,
                       help="output file (written to a temporary file, then renamed)")
    score.add_argument("--keep", metavar="COL", action="append", default=[],
                       help="copy this free-text column to the output untouched "
                            "(repeatable; notes is always kept)")
    score.add_argument("--report", metavar="DIR", default=argparse.SUPPRESS,
                       help="write report.md and PNG figures to DIR (needs expected columns)")
    score.add_argument("--quiet", action="store_true", help="no progress bar")
    score.add_argument("--chunk-size", type=int, default=CHUNK_SIZE, metavar="N",
                       help=f"rows scored at a time (default {CHUNK_SIZE})")


def run(args: argparse.Namespace) -> int:
    """Score a CSV file of cases."""
    from tqdm import tqdm

    from ..files import count_lines
    from ..scoring import score_csv

    if args.chunk_size < 1:
        raise HeelnetError(f"--chunk-size must be 1 or more; got {args.chunk_size}")
    model = model_of(args)
    metrics = Metrics(model.conditions, model.triage_rules.levels)
    show = not args.quiet and sys.stderr.isatty()
    with ExitStack() as stack:
        bar = stack.enter_context(tqdm(
            total=max(count_lines(args.input) - 1, 0) if show else None, disable=not show,
            unit=" cases", file=sys.stderr, desc="scoring"))

        def step(chunk: object) -> None:
            metrics.update(chunk)  # type: ignore[arg-type]
            bar.update(len(chunk))  # type: ignore[arg-type]

        layout = score_csv(args.input, args.output, model, keep=args.keep,
                           chunk_size=args.chunk_size, on_chunk=step)
    summary = metrics.summary()
    print(f"wrote {args.output}: {summary.rows} rows, {summary.rows - summary.errors} scored, "
          f"{summary.errors} with errors (see the error column)")
    if layout.has_expected:
        print()
        print(summary.full(Path(args.input).name))
    if args.report and not layout.has_expected:
        print("note: no report written: the file has no expected_condition or expected_triage "
              "column to compare with", file=sys.stderr)
    elif args.report:
        from ..report import write_report

        path = write_report(args.report, {Path(args.input).name: summary}, evidence_of(model))
        print(f"\nreport: {path}")
    return 0
