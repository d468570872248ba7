"""``score IN.csv -o OUT.csv``: score a CSV file of cases, streaming."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import HeelnetError
from ..metrics import Metrics
from ..scoring import CHUNK_SIZE
from ..uncertainty import DRAWS, SEED
from .common import add_output, evidence_of, messages, model_of

if TYPE_CHECKING:
    from ..api import Model
    from ..columns import Layout

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
    add_output(score, "OUT.csv", "output file")
    score.add_argument("--keep", metavar="COL", action="append", default=[],
                       help="copy this free-text column to the output untouched "
                            "(repeatable; notes is always kept)")
    score.add_argument("--report", metavar="DIR", default=argparse.SUPPRESS,
                       help="write report.md and PNG figures to DIR (needs expected columns)")
    score.add_argument("--quiet", action="store_true", help="no progress bar")
    score.add_argument("--chunk-size", type=int, default=CHUNK_SIZE, metavar="N",
                       help=f"rows scored at a time (default {CHUNK_SIZE})")
    score.add_argument("--intervals", action="store_true",
                       help="add p_<condition>_low and _high: each posterior's 90%% interval "
                            "over the plausible ranges of the numbers (slower: one inference "
                            "per parameter draw)")
    score.add_argument("--draws", type=int, default=DRAWS, metavar="N",
                       help=f"parameter draws behind each interval (default {DRAWS})")
    score.add_argument("--seed", type=int, default=SEED,
                       help=f"seed of the parameter draws (default {SEED})")
    score.add_argument("--dask", metavar="SCHEDULER",
                       help="score the chunks on a Dask cluster: local:N starts N workers "
                            "here, or give a scheduler address (tcp://host:8786); needs "
                            "pip install -e '.[dask]'")


def _score(args: argparse.Namespace, model: Model, step: Callable[[Any], None],
           force: bool) -> Layout:
    """Score the file: CSV to CSV here as always, or through :mod:`model.batch` for Dask
    and Parquet (the same rows either way)."""
    from ..tabular import is_parquet

    options = {"keep": args.keep, "chunk_size": args.chunk_size, "on_chunk": step,
               "force": force}
    if not (args.dask or is_parquet(args.input) or is_parquet(args.output)):
        from ..scoring import score_csv

        return score_csv(args.input, args.output, model, intervals=args.intervals,
                         draws=args.draws, seed=args.seed,
                         warn=lambda text: print(f"note: {text}", file=sys.stderr), **options)
    if args.intervals:
        raise HeelnetError("--intervals works on CSV files scored here; not yet with --dask "
                           "or Parquet files")
    from ..batch import connect, score_file

    if not args.dask:
        return score_file(args.input, args.output, model, **options)
    with connect(args.dask) as client:
        return score_file(args.input, args.output, model, client, **options)


def run(args: argparse.Namespace) -> int:
    """Score a CSV file of cases."""
    from tqdm import tqdm

    from ..files import check_folder, check_output, count_lines

    if args.chunk_size < 1:
        raise HeelnetError(f"--chunk-size must be 1 or more; got {args.chunk_size}")
    force = getattr(args, "force", False)
    check_output(args.output, force=force, inputs=[args.input])  # refuse before any work
    if args.report:
        check_folder(args.report, names=["report.md"], force=force)
    os.stat(args.input)  # a missing input is reported before the kernel is compiled
    from .warmup import warm

    warm(args)  # compile (once per install) before the first chunk, not inside the run
    model = model_of(args)
    metrics = Metrics.of(model)
    show = not args.quiet and sys.stderr.isatty()
    out = messages(args)
    with ExitStack() as stack:
        bar = stack.enter_context(tqdm(
            total=max(count_lines(args.input) - 1, 0) if show else None, disable=not show,
            unit=" cases", file=sys.stderr, desc="scoring"))

        def step(chunk: object) -> None:
            metrics.update(chunk)  # type: ignore[arg-type]
            bar.update(len(chunk))  # type: ignore[arg-type]

        layout = _score(args, model, step, force)
    summary = metrics.summary()
    print(f"wrote {args.output}: {summary.rows} rows, {summary.rows - summary.errors} scored, "
          f"{summary.errors} with errors (see the error column)", file=out)
    if layout.has_expected:
        print(file=out)
        print(summary.full(Path(args.input).name), file=out)
    if args.report and not layout.has_expected:
        print("note: no report written: the file has no expected_condition or expected_triage "
              "column to compare with", file=sys.stderr)
    elif args.report:
        from ..report import write_report

        path = write_report(args.report, {Path(args.input).name: summary}, evidence_of(model),
                            force=force)
        print(f"\nreport: {path}", file=out)
    return 0
