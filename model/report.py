"""The validation report: a Markdown file and PNG figures from :class:`~model.metrics.Summary`.

One report holds one or more sections (a case file each). Each section has a
table of headline figures, recall per condition, the triage confusion table and
three pictures drawn with matplotlib's object API on the Agg canvas (no pyplot, no
display, no global backend switch): a
reliability diagram, the triage confusion matrix and recall per condition.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .files import write_atomic
from .metrics import Summary

__all__ = ["plot_confusion", "plot_recall", "plot_reliability", "write_report"]

_DISCLAIMER = ("heelnet is a research and teaching model, not a medical device: these "
               "figures describe agreement with vignettes, not clinical accuracy.")


def _heading(kind: str, title: str, width: int = 55) -> str:
    """A figure title wrapped to fit the figure: the kind of plot, then the case set."""
    return "\n".join(textwrap.wrap(f"{kind}: {title}" if title else kind, width))


def _save(fig: Figure, path: Path) -> None:
    """Write a figure as PNG, whole or not at all."""
    write_atomic(path, lambda handle: fig.savefig(handle, format="png", dpi=110), binary=True,
                 force=True)


def _calibration_setting(summary: Summary) -> list[str]:
    """Which setting the reliability diagram comes from, and what to expect of it."""
    if summary.with_none:
        return [f"{summary.with_none} of these cases have none of the modelled conditions "
                "(`expected_condition` `none`, as `python -m model simulate --all-cases` "
                "writes). Cases drawn that way from the model itself are the setting in which "
                "its probabilities are calibrated: the points should lie within their bands.",
                ""]
    return ["Every case here has at least one expected condition. If the cases were chosen "
            "for that (as `python -m model simulate` does by default, and as any set of "
            "diagnosed cases is), the probabilities are expected to run low, the middle bins "
            "below their bands: the model keeps weight for pain from none of its conditions "
            "(`p_none`), which such a selection removes. Cases from "
            "`python -m model simulate --all-cases` are the setting in which the model is "
            "calibrated on its own cases.", ""]


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_") or "cases"


def plot_reliability(summary: Summary, path: Path, title: str = "") -> None:
    """Reliability diagram: mean predicted probability against observed frequency per bin."""
    count, sum_p, sum_y = summary.bins
    filled = count > 0
    mean_p = np.divide(sum_p, count, where=filled, out=np.zeros_like(sum_p))
    freq = np.divide(sum_y, count, where=filled, out=np.zeros_like(sum_y))
    edges = np.linspace(0, 1, len(count) + 1)
    fig = Figure(layout="constrained", figsize=(6, 6.5))
    top, bottom = fig.subplots(2, 1, height_ratios=(3, 1), sharex=True)
    top.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
    # where the observed share of each bin should fall 95% of the time if calibrated
    se = np.sqrt(np.clip(mean_p * (1 - mean_p), 0, None) / np.maximum(count, 1))
    top.errorbar(mean_p[filled], mean_p[filled], yerr=1.96 * se[filled], fmt="none",
                 ecolor="#999999", elinewidth=6, alpha=0.5,
                 label="95% range if calibrated (sampling error)")
    top.plot(mean_p[filled], freq[filled], "o-", color="#4c72b0", label="observed, per bin")
    top.set_ylabel("observed frequency")
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_title(f"{_heading('Reliability', title)}\nECE {summary.ece:.4f}, "
                  f"Brier {summary.brier:.4f}, {summary.cells} condition probabilities")
    top.legend(loc="upper left")
    top.grid(alpha=0.3)
    bottom.bar(edges[:-1], np.maximum(count, 0.5), width=np.diff(edges), align="edge",
               color="#999999", edgecolor="white", log=True)
    bottom.set_xlabel("predicted probability")
    bottom.set_ylabel("count (log)")
    _save(fig, path)


def plot_confusion(summary: Summary, path: Path, title: str = "") -> None:
    """Triage confusion matrix; cells above the diagonal (under-triage) are marked red."""
    matrix = summary.confusion
    levels = summary.levels
    fig = Figure(layout="constrained", figsize=(5.5, 4.8))
    ax = fig.subplots()
    ax.imshow(matrix, cmap="Blues")
    peak = matrix.max() if matrix.size and matrix.max() > 0 else 1
    for i in range(len(levels)):
        for j in range(len(levels)):
            under = j > i
            colour = "white" if matrix[i, j] > 0.6 * peak else ("#b00000" if under else "black")
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", color=colour,
                    fontsize=13, fontweight="bold" if under and matrix[i, j] else "normal")
            if under:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False,
                                           edgecolor="#b00000", linewidth=1.5))
    ax.set_xticks(range(len(levels)), levels)
    ax.set_yticks(range(len(levels)), levels)
    ax.set_xlabel("advised by heelnet")
    ax.set_ylabel("expected")
    ax.set_title(f"{_heading('Triage', title)}\nagreement "
                 f"{summary.triage_agreement}/{summary.with_triage}; red boxes: under-triage "
                 f"({summary.under_triage})", fontsize=10)
    _save(fig, path)


def plot_recall(summary: Summary, path: Path, title: str = "") -> None:
    """Horizontal bars: recall at top-1 and top-3 for each expected condition."""
    table = summary.recall().iloc[::-1]
    labels = [f"{c} (n={n})" for c, n in zip(table["condition"], table["cases"], strict=True)]
    y = np.arange(len(table))
    fig = Figure(layout="constrained", figsize=(7.5, 1.2 + 0.32 * max(len(table), 1)))
    ax = fig.subplots()
    ax.barh(y + 0.2, table["recall_top3"], height=0.4, color="#a6c8e8", label="in top 3")
    ax.barh(y - 0.2, table["recall_top1"], height=0.4, color="#4c72b0", label="ranked first")
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("recall (share of cases expecting the condition)")
    ax.set_title(_heading("Recall per condition", title, 80), fontsize=10,
                 pad=22)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=8,
              frameon=False)
    ax.grid(axis="x", alpha=0.3)
    _save(fig, path)


def _section(title: str, summary: Summary, folder: Path) -> list[str]:
    slug = _slug(title)
    lines = [f"## {title}", "", "| measure | value |", "|---|---|",
             f"| cases | {summary.rows} ({summary.errors} with errors, not scored) |"]
    if summary.with_condition:
        lines += [
            f"| top-1 accuracy | {summary.top1}/{summary.with_condition} "
            f"({summary.top1_accuracy:.1%}) |",
            f"| top-3 accuracy | {summary.top3}/{summary.with_condition} "
            f"({summary.top3_accuracy:.1%}) |",
            f"| mean top-1 probability | {summary.mean_top1_probability:.3f} |",
            f"| expected calibration error | {summary.ece:.4f} |",
            f"| Brier score / log loss | {summary.brier:.4f} / {summary.log_loss:.4f} |",
        ]
    if summary.with_triage:
        lines += [
            f"| triage agreement | {summary.triage_agreement}/{summary.with_triage} "
            f"({summary.triage_agreement / summary.with_triage:.1%}) |",
            f"| under-triage | {summary.under_triage}/{summary.with_triage} |",
        ]
        for level in summary.levels[:-1]:
            under, total = summary.under_triage_of(level)
            lines.append(f"| under-triage of expected {level} | {under}/{total} |")
        lines.append(f"| over-triage | {summary.over_triage}/{summary.with_triage} |")
    lines.append("")
    if summary.with_condition:
        name = f"{slug}_reliability.png"
        plot_reliability(summary, folder / name, title)
        recall = f"{slug}_recall.png"
        plot_recall(summary, folder / recall, title)
        lines += [f"![Reliability diagram]({name})", "",
                  "The reliability diagram pools every condition probability of every case "
                  "with an expected condition, against whether that condition was expected.",
                  "", *_calibration_setting(summary), "### Recall per condition", "",
                  "| condition | cases | ranked first | in top 3 |", "|---|---|---|---|"]
        for row in summary.recall().itertuples():
            lines.append(f"| {row.condition} | {row.cases} | {row.top1} ({row.recall_top1:.0%}) "
                         f"| {row.top3} ({row.recall_top3:.0%}) |")
        lines += ["", f"![Recall per condition]({recall})", ""]
    if summary.with_triage:
        name = f"{slug}_triage.png"
        plot_confusion(summary, folder / name, title)
        table = summary.confusion_table()
        lines += ["### Triage", "", "Rows: expected; columns: advised.", "",
                  "| expected \\ advised | " + " | ".join(table.columns) + " |",
                  "|---" * (len(table.columns) + 1) + "|"]
        for level, row in table.iterrows():
            lines.append(f"| {level} | " + " | ".join(str(v) for v in row) + " |")
        lines += ["", f"![Triage confusion matrix]({name})", ""]
        if summary.under_triaged:
            listed = ", ".join(f"`{c}` ({e} → {a})" for c, e, a in summary.under_triaged)
            lines += [f"Under-triaged cases, most urgent first: {listed}.", ""]
    return lines


def _evidence_section(evidence: pd.DataFrame, folder: Path) -> list[str]:
    """Published diagnostic accuracy against the model's, a table and a plot."""
    from .accuracy import plot

    fig = Figure(layout="constrained", figsize=(6.5, 6.5))
    plot(evidence, fig.subplots())
    fig.savefig(folder / "evidence.png", dpi=110)
    reproduced = int(evidence.reproduced.sum())
    lines = ["## Published accuracy and the model's", "",
             f"{reproduced} of {len(evidence)} published figures reproduced within a factor of 2 "
             "(the model's figure is computed exactly in the study's presenting population; "
             "see `priors/accuracy.csv`).", "",
             "| figure | condition | test result | among | published | model | ratio |",
             "|---|---|---|---|---|---|---|"]
    for row in evidence.itertuples():
        test = ", ".join(f"{k}={v}" for k, v in row.findings.items())
        among = ", ".join(f"{k}={v}" for k, v in row.given.items()) or "everyone"
        lines.append(f"| {row.id} | {row.condition} | {test} | {among} | {row.published:.3g} "
                     f"| {row.model:.3g} | {row.ratio:.2f} |")
    return [*lines, "", "![published and model accuracy](evidence.png)", ""]


def write_report(directory: str | Path, sections: Mapping[str, Summary],
                 evidence: pd.DataFrame | None = None, *, force: bool = False) -> Path:
    """Write ``report.md`` and its PNG figures into ``directory`` (created if needed).

    Parameters
    ----------
    directory : path
    sections : mapping of title to Summary
        One section per case file, in order.
    evidence : DataFrame, optional
        :func:`model.accuracy.compare`'s table: adds the published-against-model section.
    force : bool
        Replace ``report.md`` even if it is read-only.

    Returns
    -------
    Path
        The Markdown file.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["# heelnet validation report", "", _DISCLAIMER, ""]
    for title, summary in sections.items():
        lines += _section(title, summary, folder)
    if evidence is not None and len(evidence):
        lines += _evidence_section(evidence, folder)
    path = folder / "report.md"
    write_atomic(path, lambda handle: handle.write("\n".join(lines)), force=force)
    return path
