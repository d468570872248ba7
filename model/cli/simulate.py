"""``simulate -n N -o CASES.csv``: synthetic vignettes sampled from the network."""

from __future__ import annotations

import argparse
import contextlib

from ..errors import HeelnetError
from ..simulate import ASKED
from .common import model_of

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
    simulate.add_argument("-o", "--output", metavar="CASES.csv", required=True)
    simulate.add_argument("--asked", type=float, default=ASKED,
                          help=f"probability that each finding is asked (default {ASKED})")
    simulate.add_argument("--dask", metavar="SCHEDULER",
                          help="simulate partitions on a Dask cluster (local:N or a scheduler "
                               "address); partition i uses the seed [SEED, i]")
    simulate.add_argument("--partition-size", type=int, default=None, metavar="N",
                          help="cases per partition with --dask (default 100000)")


def run(args: argparse.Namespace) -> int:
    """Write simulated cases."""
    from ..files import write_atomic

    if args.n < 1:
        raise HeelnetError(f"-n must be a whole number of cases, 1 or more; got {args.n}")
    if args.dask or args.partition_size:
        return _partitioned(args)
    cases = model_of(args).simulate(args.n, args.seed, asked=args.asked)
    write_atomic(args.output, lambda handle: cases.to_csv(handle, index=False,
                                                          lineterminator="\n"))
    print(f"wrote {args.output}: {len(cases)} simulated cases (seed {args.seed})")
    return 0


def _partitioned(args: argparse.Namespace) -> int:
    """Simulate in partitions with per-partition seeds, on Dask workers if asked."""
    from ..batch import PARTITION_SIZE, connect, simulate_file

    size = args.partition_size or PARTITION_SIZE
    if size < 1:
        raise HeelnetError(f"--partition-size must be 1 or more; got {size}")
    model = model_of(args)
    with contextlib.ExitStack() as stack:
        client = stack.enter_context(connect(args.dask)) if args.dask else None
        simulate_file(args.n, args.seed, args.output, model, client, partition_size=size,
                      asked=args.asked)
    print(f"wrote {args.output}: {args.n} simulated cases (seed {args.seed}, partitions of "
          f"{size})")
    return 0
