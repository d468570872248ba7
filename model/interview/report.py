"""The interview report: accuracy and triage against questions asked, as Markdown and a figure.

Drawn with matplotlib's object API on the Agg canvas, like :mod:`model.report`
(no pyplot, no display, no global backend switch).
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ..files import write_atomic
from .evaluation import ReplayEvaluation, budget_table, side_by_side

__all__ = ["plot_budget", "report_section", "write_interview_report"]

#: Budgets listed in the Markdown table (the figure shows every one).
_LISTED = (*range(0, 13), 15, 20, 25, 30, 40, 50, 60, 80, 100)


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_") or "cases"


def plot_budget(evaluation: ReplayEvaluation, folder: Path, title: str) -> Path:
    """Top-1, top-3 and triage agreement, and under-triage, against the number of
    questions; the full vignette's figures dashed; the questions asked as a histogram."""
    table = budget_table(evaluation)
    level = evaluation.emergency_level
    full = evaluation.full
    fig = Figure(layout="constrained", figsize=(7.5, 9))
    top, middle, bottom = fig.subplots(3, 1, height_ratios=(3, 2, 1.6), sharex=True)
    k = table["questions"].to_numpy()
    full_triage = full.triage_agreement / full.with_triage if full.with_triage else np.nan
    for name, label, colour, reference in (
            ("top1", "top-1 accuracy", "#4c72b0", full.top1_accuracy),
            ("top3", "top-3 accuracy", "#55a868", full.top3_accuracy),
            ("triage_agreement", "triage agreement", "#c44e52", full_triage)):
        top.plot(k, 100 * table[name], "-", color=colour, label=f"{label}, first k questions")
        top.axhline(100 * reference, color=colour, linestyle="--", linewidth=1,
                    label=f"{label}, every cell known")
    median = evaluation.median_questions
    for ax in (top, middle, bottom):
        ax.axvline(median, color="grey", linestyle=":", linewidth=1)
    top.set_ylabel("% of cases")
    top.set_ylim(0, 103)
    top.legend(fontsize=7, loc="lower right", ncol=2)
    top.grid(alpha=0.3)
    heading = "\n".join(textwrap.wrap(f"Interview replay: {title}", 60))
    top.set_title(f"{heading}\nmedian {median:g} questions (dotted line)", fontsize=10)
    middle.step(k, table["under_triage"], where="post", color="#8172b2", label="under-triage")
    middle.step(k, table[f"{level}_under_triaged"], where="post", color="#b00000",
                label=f"{level} under-triaged")
    middle.axhline(full.under_triage, color="#8172b2", linestyle="--", linewidth=1,
                   label="under-triage, every cell known")
    middle.axhline(full.under_triage_of(level)[0], color="#b00000", linestyle="--",
                   linewidth=1, label=f"{level} under-triaged, every cell known")
    middle.set_ylabel("cases")
    middle.legend(fontsize=7, loc="upper right")
    middle.grid(alpha=0.3)
    questions = evaluation.questions
    bins = np.arange(0, (questions.max(initial=0) if len(questions) else 0) + 2) - 0.5
    bottom.hist(questions, bins=bins, color="#999999")
    bottom.set_ylabel("cases")
    bottom.set_xlabel("questions asked after the intake (k)")
    path = folder / f"{_slug(title)}_interview.png"
    fig.savefig(path, dpi=110)
    return path


def report_section(title: str, evaluation: ReplayEvaluation, figure: str) -> list[str]:
    """The Markdown of one case file: goals, side by side, the budget table, the figure."""
    limit = ("no limit" if evaluation.max_questions is None
             else f"at most {evaluation.max_questions} questions")
    lines = [f"## {title}", "", f"Interview as replayed ({limit}; it stops when safe):", "",
             "| goal | met | figures |", "|---|---|---|"]
    for goal, met, figures in evaluation.goals():
        lines.append(f"| {goal} | {'yes' if met else 'no'} | {figures} |")
    table = side_by_side(evaluation)
    lines += ["", "| | interview | full vignette |", "|---|---|---|"]
    for measure, row in table.iterrows():
        lines.append(f"| {measure} | {row['interview']} | {row['full vignette']} |")
    missed = evaluation.under_triaged(evaluation.interview)
    if missed:
        full = evaluation.under_triaged(evaluation.full)
        same = " (the same cases)" if sorted(missed) == sorted(full) else ""
        lines += ["", f"{evaluation.emergency_level} cases advised less urgent care: "
                  f"interview {', '.join(missed)}; full vignette {', '.join(full) or 'none'}"
                  f"{same}."]
    budget = budget_table(evaluation)
    level = evaluation.emergency_level
    lines += ["", "After the first k questions (every case stopped at k, or earlier if its "
              "interview stopped):", "",
              f"| k | still asking | top-1 | top-3 | triage agreement | under-triage | "
              f"{level} under-triaged |", "|---|---|---|---|---|---|---|"]
    last = int(budget["questions"].max())
    for row in budget.itertuples(index=False):
        if row.questions in _LISTED or row.questions == last:
            lines.append(f"| {row.questions} | {row.still_asking} | {row.top1:.1%} | "
                         f"{row.top3:.1%} | {row.triage_agreement:.1%} | {row.under_triage} | "
                         f"{getattr(row, f'{level}_under_triaged')} |")
    lines += ["", f"![Accuracy and triage against questions asked]({figure})", ""]
    return lines


def write_interview_report(directory: str | os.PathLike[str],
                           sections: Mapping[str, ReplayEvaluation]) -> Path:
    """Write ``interview_report.md`` and one figure per case file into ``directory``."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["# heelnet interview report", "",
             "heelnet is a research and teaching model, not a medical device: these figures "
             "describe agreement with vignettes, not clinical accuracy.", "",
             "Each case is a patient who answers only what its cells hold (a blank cell is "
             "\"don't know\"); age and sex are given at the intake and not counted.", ""]
    for title, evaluation in sections.items():
        figure = plot_budget(evaluation, folder, title)
        lines += report_section(title, evaluation, figure.name)
    path = folder / "interview_report.md"
    write_atomic(path, lambda handle: handle.write("\n".join(lines)))
    return path
