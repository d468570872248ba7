"""No command: score the bundled case files and print a short summary of each."""

from __future__ import annotations

import argparse
from importlib import resources

from ..metrics import Metrics, Summary
from .common import DISCLAIMER, PROG, evidence_of, model_of

__all__ = ["run"]

BUNDLED = (
    ("text_vignettes.csv", "Seed-text vignettes (face validity)"),
    ("mimic_vignettes.csv", "Mimic vignettes (published cases and guidelines)"),
    ("case_report_vignettes.csv", "Case-report vignettes (published patients)"),
    ("simulated_vignettes.csv", "Simulated cases (from the model itself)"),
)


def run(args: argparse.Namespace) -> int:
    """Score the bundled case files and print a summary of each."""
    from ..scoring import iter_scored
    from .warmup import warm

    warm(args)  # compile once, here, rather than inside the first scoring run
    model = model_of(args)
    data = resources.files("model.data")
    sections: dict[str, Summary] = {}
    for name, title in BUNDLED:
        entry = data / name
        if not entry.is_file():
            print(f"{title}: model/data/{name} is not there yet; skipped\n")
            continue
        metrics = Metrics.of(model)
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
        from ..report import write_report

        path = write_report(args.report, sections, evidence_of(model), force=args.force)
        print(f"report: {path}")
    return 0
