"""The command line: ``python -m model [score | simulate | diagnose]``.

``python -m model`` with no command scores the bundled case files and prints a
short summary of each. A problem with a whole file (unknown column, missing file,
unwritable output) is one line on stderr, ``error: ...``, and a non-zero exit
status; a problem with one row goes to that row's ``error`` column.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from importlib import resources
from pathlib import Path

from .api import Model
from .errors import HeelnetError
from .export import FORMATS
from .metrics import Metrics, Summary
from .scoring import CHUNK_SIZE
from .simulate import ASKED

__all__ = ["main"]

PROG = "python -m model"
BUNDLED = (
    ("text_vignettes.csv", "Seed-text vignettes (face validity)"),
    ("simulated_vignettes.csv", "Simulated cases (from the model itself)"),
)
DISCLAIMER = "heelnet is a research and teaching model, not a medical device."


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
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

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

    simulate = commands.add_parser(
        "simulate", parents=[common], help="write synthetic vignettes sampled from the network",
        description="Forward-sample consulting cases from the network, with their true "
                    "conditions as expected_condition and a truth-based expected_triage.")
    simulate.add_argument("-n", type=int, required=True, help="number of cases")
    simulate.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    simulate.add_argument("-o", "--output", metavar="CASES.csv", required=True)
    simulate.add_argument("--asked", type=float, default=ASKED,
                          help=f"probability that each finding is asked (default {ASKED})")

    diagnose = commands.add_parser(
        "diagnose", parents=[common], help="rank the conditions for one case",
        description="Rank the conditions and triage one case, e.g. "
                    f"{PROG} diagnose age_years=41 pain_heel_back=yes swelling=no")
    diagnose.add_argument("items", nargs="*", metavar="ID=VALUE")
    diagnose.add_argument("--top", type=int, default=5, help="conditions to show (default 5)")

    export = commands.add_parser(
        "export", parents=[common], help="write the network for GeNIe, Hugin, SamIam or pyAgrum",
        description="Write the Bayesian network in a standard format through pgmpy's writers. "
                    "BIF and XML-BIF keep full precision; XDSL keeps 16 decimals.")
    export.add_argument("--format", choices=FORMATS, required=True, dest="fmt")
    export.add_argument("-o", "--output", metavar="FILE", required=True)
    return parser


def _model(args: argparse.Namespace) -> Model:
    priors = getattr(args, "priors", None)
    return Model.from_directory(priors) if priors else Model.default()


def _os_message(error: OSError) -> str:
    if error.filename and error.strerror:
        return f"{error.strerror}: '{error.filename}'"
    return str(error)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 when all went well).

    Examples
    --------
    >>> main(["diagnose", "age_years=11", "jumping_sport=yes", "pain_heel_back=yes",
    ...       "heel_squeeze_tender=yes", "--top", "1"])  # doctest: +ELLIPSIS
    severs_disease ...
    0
    """
    args = _parser().parse_args(argv)
    try:
        if args.report and args.command not in (None, "score"):
            raise HeelnetError(f"--report goes with 'score' or no command, not '{args.command}'")
        if args.command == "score":
            return _score(args)
        if args.command == "simulate":
            return _simulate(args)
        if args.command == "diagnose":
            return _diagnose(args)
        if args.command == "export":
            path = _model(args).export(args.fmt, args.output)
            print(f"wrote {args.fmt} network to {path}")
            return 0
        return _bundled(args)
    except HeelnetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"error: {_os_message(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted (no output was written)", file=sys.stderr)
        return 130


def _score(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .files import count_lines
    from .scoring import score_csv

    if args.chunk_size < 1:
        raise HeelnetError(f"--chunk-size must be 1 or more; got {args.chunk_size}")
    model = _model(args)
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
        from .report import write_report

        path = write_report(args.report, {Path(args.input).name: summary})
        print(f"\nreport: {path}")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from .files import write_atomic

    if args.n < 1:
        raise HeelnetError(f"-n must be a whole number of cases, 1 or more; got {args.n}")
    cases = _model(args).simulate(args.n, args.seed, asked=args.asked)
    write_atomic(args.output, lambda handle: cases.to_csv(handle, index=False,
                                                          lineterminator="\n"))
    print(f"wrote {args.output}: {len(cases)} simulated cases (seed {args.seed})")
    return 0


def _diagnose(args: argparse.Namespace) -> int:
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
    result = _model(args).diagnose(findings)
    width = max(len(c) for c, _ in result.ranked[:args.top])
    for condition, p in result.ranked[:args.top]:
        print(f"{condition:<{width}}  {p:6.1%}  {'#' * round(40 * p)}")
    print(f"\ntriage: {result.triage}")
    for flag in result.red_flags:
        print(f"  - {flag}")
    print(f"\n{DISCLAIMER} Probabilities, not a diagnosis.")
    return 0


def _bundled(args: argparse.Namespace) -> int:
    from .scoring import iter_scored

    model = _model(args)
    data = resources.files("model.data")
    sections: dict[str, Summary] = {}
    for name, title in BUNDLED:
        entry = data / name
        if not entry.is_file():
            print(f"{title}: model/data/{name} is not there yet; skipped\n")
            continue
        metrics = Metrics(model.conditions, model.triage_rules.levels)
        with resources.as_file(entry) as path:
            _, chunks = iter_scored(path, model)
            for chunk in chunks:
                metrics.update(chunk)
        sections[f"{title}, {name}"] = summary = metrics.summary()
        print(summary.short(f"{title}, {name}"))
        print()
    print(f"{DISCLAIMER}\nScore your own file: {PROG} score IN.csv -o OUT.csv "
          f"(--report DIR for figures); one case: {PROG} diagnose pain_heel_back=yes ...")
    if args.report:
        from .report import write_report

        print(f"report: {write_report(args.report, sections)}")
    return 0
