"""``simulate -n N -o CASES.csv``: synthetic vignettes sampled from the network."""

from __future__ import annotations

import argparse
import contextlib
from typing import TextIO

from ..errors import HeelnetError
from ..simulate import ASKED
from .common import add_output, messages, model_of

__all__ = ["NAME", "add", "run"]

NAME = "simulate"


def add(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Declare the command and its arguments."""
    simulate = commands.add_parser(
        "simulate", parents=[common], help="write synthetic vignettes sampled from the network",
        description="Forward-sample consulting cases from the network, with their true "
                    "conditions as expected_condition and a truth-based expected_triage.")
    simulate.add_argument("-n", type=int, required=True, help="number of cases")
    simulate.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    add_output(simulate, "CASES.csv", "output file")
    simulate.add_argument("--asked", type=float, default=ASKED,
                          help=f"probability that each finding is asked (default {ASKED})")
    simulate.add_argument("--dask", metavar="SCHEDULER",
                          help="simulate partitions on a Dask cluster (local:N or a scheduler "
                               "address); partition i uses the seed [SEED, i]")
    simulate.add_argument("--partition-size", type=int, default=None, metavar="N",
                          help="cases per partition with --dask (default 100000)")
    simulate.add_argument("--all-cases", action="store_true",
                          help="keep every consulting case, also those with none of the "
                               "modelled conditions (expected_condition 'none'): the setting "
                               "in which the model's posteriors are calibrated on its own "
                               "cases. By default only cases with a condition are kept, and "
                               "the posteriors run low on them")


def run(args: argparse.Namespace) -> int:
    """Write simulated cases, a batch at a time."""
    from ..files import check_output, write_atomic
    from ..simulate import iter_simulated

    if args.n < 1:
        raise HeelnetError(f"-n must be a whole number of cases, 1 or more; got {args.n}")
    force = getattr(args, "force", False)
    check_output(args.output, force=force)
    if args.dask or args.partition_size:
        return _partitioned(args, force)
    model = model_of(args)
    frames = iter_simulated(args.n, model, args.seed, asked=args.asked,
                            require_condition=not args.all_cases)

    def write(handle: TextIO) -> None:
        for number, frame in enumerate(frames):
            frame.to_csv(handle, index=False, header=number == 0, lineterminator="\n")

    write_atomic(args.output, write, force=force)
    print(f"wrote {args.output}: {args.n} simulated cases (seed {args.seed}; {_which(args)})",
          file=messages(args))
    return 0


def _which(args: argparse.Namespace) -> str:
    return "every consulting case" if args.all_cases else "only cases with a modelled condition"


def _partitioned(args: argparse.Namespace, force: bool) -> int:
    """Simulate in partitions with per-partition seeds, on Dask workers if asked."""
    from ..batch import PARTITION_SIZE, connect, simulate_file

    size = args.partition_size or PARTITION_SIZE
    if size < 1:
        raise HeelnetError(f"--partition-size must be 1 or more; got {size}")
    model = model_of(args)
    with contextlib.ExitStack() as stack:
        client = stack.enter_context(connect(args.dask)) if args.dask else None
        simulate_file(args.n, args.seed, args.output, model, client, partition_size=size,
                      force=force, asked=args.asked, require_condition=not args.all_cases)
    print(f"wrote {args.output}: {args.n} simulated cases (seed {args.seed}, partitions of "
          f"{size}; {_which(args)})", file=messages(args))
    return 0
