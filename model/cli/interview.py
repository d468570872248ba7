"""``interview``: one question at a time in the terminal; ``--replay`` a case file;
``--report DIR`` for accuracy against the number of questions."""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import HeelnetError
from ..interview.policy import STOPPED
from .bundled import BUNDLED
from .common import DISCLAIMER, PROG, model_of

if TYPE_CHECKING:
    from ..api import Model
    from ..interview import Interview, InterviewResult

__all__ = ["NAME", "add", "run"]

NAME = "interview"
HELP = ("Answer y (yes), n (no) or ? (don't know); u takes back the last answer, "
        "q stops and shows the result so far.")


def add(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Declare the command and its arguments."""
    interview = commands.add_parser(
        "interview", parents=[common],
        help="ask one question at a time and stop when it is safe (or replay a case file)",
        description="Ask one question at a time: age and sex first, then the warning signs "
                    "that could make the triage more urgent, then the question that most "
                    "improves the chance of naming the right condition, until no question "
                    "is worth asking (each error has a cost in questions; see "
                    "model/interview/policy.py). 'Don't know' is an answer. At the end: "
                    "ranked conditions, triage, red flags and why. With --replay, each row "
                    "of a case file is a patient who answers only what its cells hold "
                    "(blank = don't know). " + DISCLAIMER,
        epilog=f"examples: {PROG} interview | {PROG} interview --replay cases.csv -o out.csv "
               f"| {PROG} interview --report DIR (the bundled vignettes)")
    interview.add_argument("--max-questions", type=int, metavar="N",
                           help="stop after N questions (age and sex not counted)")
    interview.add_argument("--replay", metavar="IN.csv",
                           help="interview each row of IN.csv; blank cells answer 'don't know'")
    interview.add_argument("-o", "--output", metavar="OUT.csv",
                           help="with --replay: the score columns plus questions_asked and "
                                "asked (written to a temporary file, then renamed)")
    interview.add_argument("--report", metavar="DIR", default=argparse.SUPPRESS,
                           help="write interview_report.md and figures to DIR: accuracy and "
                                "triage against questions asked, beside every cell known "
                                "(for IN.csv, or the bundled vignettes without --replay)")


def run(args: argparse.Namespace) -> int:
    """Take the interview in the terminal, or replay a case file."""
    if args.max_questions is not None and args.max_questions < 0:
        raise HeelnetError(f"--max-questions must be a whole number of 0 or more; "
                           f"got {args.max_questions}")
    report = getattr(args, "report", None)
    if args.output and not args.replay:
        raise HeelnetError("-o goes with --replay IN.csv")
    if args.replay and not (args.output or report):
        raise HeelnetError("--replay needs -o OUT.csv, --report DIR or both")
    model = model_of(args)
    if args.replay or report:
        return _replay(args, model, report)
    return converse(model.interview(max_questions=args.max_questions))


# ----------------------------------------------------------------------------- replay


def _replay(args: argparse.Namespace, model: Model, report: str | None) -> int:
    from ..interview.evaluation import evaluate_replay
    from ..interview.replay import replay_csv

    if args.replay and not report:
        replay_csv(args.replay, args.output, model, max_questions=args.max_questions)
        print(f"wrote {args.output}")
        return 0
    sections = {}
    if args.replay:
        sources = [(Path(args.replay).name, Path(args.replay))]
    else:
        sources = [(name, resources.files("model.data") / name) for name, _ in BUNDLED]
    for title, source in sources:
        with resources.as_file(source) as path:
            evaluation = evaluate_replay(path, model, max_questions=args.max_questions,
                                         target=args.output)
        sections[title] = evaluation
        if args.output:
            print(f"wrote {args.output}")
        print(f"{title}: median {evaluation.median_questions:g} questions")
        for goal, met, figures in evaluation.goals():
            print(f"  {goal}: {'met' if met else 'not met'} ({figures})")
    from ..interview.report import write_interview_report

    print(f"report: {write_interview_report(report, sections)}")
    return 0


# ----------------------------------------------------------------------------- terminal


def _ask(prompt: str) -> str | None:
    """One line from the person (``None`` at the end of input)."""
    try:
        return input(prompt)
    except EOFError:
        print()
        return None


def _prompt(session: Interview) -> str | None:
    """Ask the next question until it gets an answer it accepts; ``None`` to stop."""
    question = session.next()
    assert question is not None
    if question.purpose == "intake":
        head = "Intake"
        choices = {"int": "a whole number, or ? if unknown",
                   "enum": "/".join(question.answers[:-1]) + ", or ?"}.get(question.type, "y/n/?")
    else:
        head = f"Question {question.number} ({question.purpose})"
        choices = "y/n/?"
    while True:
        line = _ask(f"{head}: {question.meaning}? [{question.id}] ({choices}) ")
        if line is None or line.strip().lower() in ("q", "quit"):
            return None
        text = line.strip().lower()
        if text in ("u", "undo"):
            undone = session.undo()
            print(f"  (took back the answer to {undone})" if undone else "  (nothing to undo)")
            return "undo"
        if text in ("h", "help"):
            print(f"  {HELP}\n  Asked because: {question.reason}")
            continue
        answer = {"y": "yes", "n": "no", "": "unknown"}.get(text, text)
        try:
            session.answer(question.id, answer)
        except HeelnetError as error:
            print(f"  {error}")
            continue
        return answer


def converse(session: Interview) -> int:
    """Hold the interview on stdin/stdout, then print the result."""
    print(f"heelnet interview. {DISCLAIMER}\n{HELP}\n")
    while not session.done:
        if _prompt(session) is None:
            print("\n(stopped before the interview was complete)")
            break
    print()
    print(describe(session.result))
    return 0


def describe(result: InterviewResult, top: int = 5) -> str:
    """The end of an interview in words: ranked list, triage, red flags, why."""
    why = STOPPED.get(result.stopped, result.stopped)
    lines = [f"After {result.questions_asked} questions" + (f". {why}" if why else "") + "", ""]
    width = max(len(c) for c, _ in result.ranked[:top])
    for condition, p in result.ranked[:top]:
        lines.append(f"  {condition:<{width}}  {p:6.1%}  {'#' * round(40 * p)}")
    lines += ["", f"Triage: {result.triage}"]
    lines += [f"  - {flag}" for flag in result.red_flags]
    model = result.diagnosis.model
    if any(model.vocabulary.kind(item) == "finding" for item in result.diagnosis.findings):
        lines += ["", "Why:", str(result.explain())]
    lines += ["", f"{DISCLAIMER} Probabilities, not a diagnosis."]
    return "\n".join(lines)
