"""The command line: ``python -m model [COMMAND]``.

``python -m model`` with no command scores the bundled case files and prints a
short summary of each. Each command lives in a module of its own in this
package, with ``add(commands, common)`` to declare its arguments and
``run(args)`` to carry it out. A problem with a whole file (unknown column,
missing file, unwritable output) is one line on stderr, ``error: ...``, and a
non-zero exit status; a problem with one row goes to that row's ``error`` column.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

from ..errors import HeelnetError
from ..files import Interrupted, signals_as_interrupts
from . import bundled, diagnose, export, fit, interview, score, serve, simulate, warmup
from .common import DISCLAIMER, PROG

__all__ = ["main"]

#: The commands, in the order ``--help`` lists them.
COMMANDS = (score, simulate, diagnose, interview, serve, export, fit, warmup)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a command's own --priors must not reset one given before the command
    common.add_argument("--priors", metavar="DIR", default=argparse.SUPPRESS,
                        help="use the knowledge base in DIR (laid out like priors/) "
                             "instead of the bundled one")
    parser = argparse.ArgumentParser(
        prog=PROG, parents=[common],
        description="heelnet: a Bayesian network for pain at the back of the heel and ankle. "
                    "With no command, score the bundled case files and summarise them. "
                    + DISCLAIMER,
    )
    parser.add_argument("--report", metavar="DIR",
                        help="also write report.md and PNG figures to DIR (with no command, "
                             "for the bundled files; or give it after 'score')")
    parser.add_argument("--force", action="store_true",
                        help="replace output files even if they are read-only")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add(commands, common)
    return parser


def _os_message(error: OSError) -> str:
    if error.filename and error.strerror:
        return f"{error.strerror}: '{error.filename}'"
    return str(error)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 when all went well).

    SIGTERM and SIGHUP are handled like Ctrl-C: the old output stays as it was and
    no temporary file is left behind.

    Examples
    --------
    >>> main(["diagnose", "age_years=11", "jumping_sport=yes", "pain_heel_back=yes",
    ...       "heel_squeeze_tender=yes", "--top", "1"])  # doctest: +ELLIPSIS
    severs_disease ...
    0
    """
    args = _parser().parse_args(argv)
    with signals_as_interrupts():
        try:
            return _run(args)
        except HeelnetError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        except BrokenPipeError:  # the reader of our stdout went away (| head): stop quietly
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        except OSError as error:
            print(f"error: {_os_message(error)}", file=sys.stderr)
            return 1
        except Interrupted as signal:
            print(f"error: stopped by {signal.name} (no output was replaced)", file=sys.stderr)
            return 128 + signal.signum
        except KeyboardInterrupt:
            print("error: interrupted (no output was written)", file=sys.stderr)
            return 130


def _run(args: argparse.Namespace) -> int:
    if args.report and args.command not in (None, "score", "interview"):
        raise HeelnetError(f"--report goes with 'score', 'interview' or no command, "
                           f"not '{args.command}'")
    for command in COMMANDS:
        if args.command == command.NAME:
            return command.run(args)
    return bundled.run(args)
