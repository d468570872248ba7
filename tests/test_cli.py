"""The command line as a user runs it: `python -m model [score | simulate | diagnose]`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from model.cli import main

TOY = str(Path(__file__).parent / "toy_priors")

EXPECTED = pd.DataFrame({
    "case_id": ["a", "b", "c"],
    "age_years": ["40", "40", "12"],
    "sex": ["male", "male", "female"],
    "pain": ["yes", "yes", "no"],
    "lump": ["yes", "no", "no"],
    "expected_condition": ["tendon", "tear|tendon", "tendon"],
    "expected_triage": ["see_doctor", "emergency", "self_care"],
})


def score_toy(tmp_path: Path, table: pd.DataFrame, *extra: str) -> int:
    source = tmp_path / "in.csv"
    table.to_csv(source, index=False)
    return main(["score", str(source), "-o", str(tmp_path / "out.csv"), "--priors", TOY,
                 *extra])


def test_summary_printed_when_expected_columns_are_there(tmp_path, capsys):
    assert score_toy(tmp_path, EXPECTED) == 0
    out, err = capsys.readouterr()
    assert "wrote" in out and "3 rows, 3 scored, 0 with errors" in out
    assert "top-1 accuracy" in out and "top-3 accuracy" in out
    assert "triage agreement" in out and "under-triage" in out
    assert "Recall per condition" in out and "Triage (rows: expected, columns: advised)" in out
    assert err == ""  # no progress bar when stderr is not a terminal


def test_no_summary_without_expected_columns(tmp_path, capsys):
    assert score_toy(tmp_path, EXPECTED.drop(columns=["expected_condition", "expected_triage"])) == 0
    out = capsys.readouterr().out
    assert "wrote" in out and "top-1 accuracy" not in out


def test_report_writes_markdown_and_pictures(tmp_path, capsys):
    report = tmp_path / "report"
    assert score_toy(tmp_path, EXPECTED, "--report", str(report)) == 0
    names = sorted(p.name for p in report.iterdir())
    assert names == ["in_csv_recall.png", "in_csv_reliability.png", "in_csv_triage.png",
                     "report.md"]
    text = (report / "report.md").read_text()
    assert "| top-1 accuracy |" in text and "![Reliability diagram](in_csv_reliability.png)" in text
    assert "| under-triage of expected emergency |" in text
    assert all((report / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for n in names[:3])


def test_report_without_expected_columns_is_skipped_with_a_note(tmp_path, capsys):
    table = EXPECTED.drop(columns=["expected_condition", "expected_triage"])
    assert score_toy(tmp_path, table, "--report", str(tmp_path / "r")) == 0
    assert "no report" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_diagnose_prints_the_differential_and_triage(capsys):
    assert main(["diagnose", "--priors", TOY, "age_years=40", "pain=yes", "lump=yes"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("tendon")
    assert "triage: see_doctor" in out and "Pain with a lump" in out
    assert "not a medical device" in out


@pytest.mark.parametrize(("items", "message"), [
    (["pian=yes"], "error: unknown finding 'pian'; did you mean 'pain'?\n"),
    (["pain=maybe"], "error: 'pain' must be yes/no, true/false or 1/0 (any case), or blank for not asked; got 'maybe'\n"),
    (["pain"], "error: give each item as ID=VALUE, such as pain_heel_back=yes; got 'pain'\n"),
])
def test_diagnose_errors_are_one_line(capsys, items, message):
    assert main(["diagnose", "--priors", TOY, *items]) == 1
    assert capsys.readouterr().err == message


def test_simulate_needs_at_least_one_case(tmp_path, capsys):
    assert main(["simulate", "-n", "0", "-o", str(tmp_path / "s.csv"), "--priors", TOY]) == 1
    assert capsys.readouterr().err == "error: -n must be a whole number of cases, 1 or more; got 0\n"


def test_bad_priors_folder_is_one_line(tmp_path, capsys):
    assert main(["diagnose", "--priors", str(tmp_path), "pain=yes"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "vocabulary.csv: file not found" in err


def test_bundled_summary(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "Seed-text vignettes (face validity), text_vignettes.csv: 56 cases, 56 scored" in out
    assert "Mimic vignettes (published cases and guidelines), mimic_vignettes.csv: 33 cases" in out
    assert ("Case-report vignettes (published patients), case_report_vignettes.csv: "
            "83 cases, 83 scored") in out
    assert "Simulated cases (from the model itself), simulated_vignettes.csv: 300 cases" in out
    assert out.count("top-3 accuracy") == 4 and out.count("under-triage") == 4


def test_python_dash_m_model_runs():
    done = subprocess.run([sys.executable, "-m", "model", "diagnose", "--priors", TOY, "pain=yes"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "triage:" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "model", "score", "missing.csv", "-o", "x.csv"],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 1
    assert bad.stderr == "error: No such file or directory: 'missing.csv'\n"


def test_progress_bar_on_a_terminal_unless_quiet(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert score_toy(tmp_path, EXPECTED) == 0
    assert "scoring" in capsys.readouterr().err
    assert score_toy(tmp_path, EXPECTED, "--quiet") == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("fmt", ["bif", "xmlbif", "xdsl"])
def test_export_writes_a_network_pgmpy_reads_back(tmp_path, capsys, fmt):
    from pgmpy.readwrite import BIFReader, XDSLReader, XMLBIFReader

    target = tmp_path / f"toy.{fmt}"
    # the toy network keeps pgmpy's slow BIF parser quick; test_export reads the full one
    assert main(["export", "--priors", "tests/toy_priors", "--format", fmt, "-o", str(target)]) == 0
    assert f"wrote {fmt} network to {target}" in capsys.readouterr().out
    reader = {"bif": BIFReader, "xmlbif": XMLBIFReader, "xdsl": XDSLReader}[fmt]
    net = reader(str(target)).get_model()
    assert "tear" in net.nodes and net.get_cpds("sex").state_names["sex"] == ["female", "male"]
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temporary file left


def test_export_to_a_missing_folder_is_one_line(tmp_path, capsys):
    assert main(["export", "--format", "bif", "-o", str(tmp_path / "no" / "x.bif")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write") and "does not exist" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize(("argv", "message"), [
    (["--priors", "/nonexistent", "diagnose", "pain_heel_back=yes"], r"^error: /nonexistent/vocabulary.csv: file not found$"),
    (["diagnose", "gender=male"], r"^error: unknown context item 'gender'; did you mean 'sex'\?$"),
    (["diagnose", "pain_heel_back=yes", "pain_heel_back=no"], r"^error: 'pain_heel_back' is given twice; give each item once$"),
    (["diagnose", "pain_heel_back=yes", "--top", "0"], r"^error: --top must be a whole number of at least 1; got 0$"),
    (["simulate", "-n", "3", "--asked", "0", "-o", "unused.csv"], r"^error: The 'asked' parameter of sample must be a number in the range \(0, 1\]; got 0.0.$"),
    (["--report", "somewhere", "diagnose", "fever=yes"], r"^error: --report goes with 'score', 'interview' or no command, not 'diagnose'$"),
])
def test_command_line_mistakes_are_one_line(capsys, argv, message):
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert re.search(message, err), err


def test_priors_before_the_command_is_used(tmp_path, capsys):
    """--priors given before the command must not be dropped by the command's own default."""
    import shutil

    folder = tmp_path / "priors"
    shutil.copytree(Path(__file__).parent / "toy_priors", folder)
    assert main(["--priors", str(folder), "diagnose", "pain=yes", "--top", "1"]) == 0
    assert capsys.readouterr().out.split()[0] in {"tendon", "tear"}


def test_bundled_text_vignettes_score_as_they_are(tmp_path, capsys):
    """The seed quotes in the 'source' column pass through without --keep."""
    from importlib import resources

    source = resources.files("model.data") / "text_vignettes.csv"
    target = tmp_path / "scored.csv"
    assert main(["score", str(source), "-o", str(target), "--quiet"]) == 0
    scored = pd.read_csv(target, dtype=str, keep_default_na=False)
    original = pd.read_csv(str(source), dtype=str, keep_default_na=False)
    assert list(scored.source) == list(original.source)
    assert (scored.error == "").all()


def test_warmup_leaves_the_kernel_ready(capsys):
    from model.engine import kernel

    assert main(["warmup"]) == 0
    assert "inference kernel ready" in capsys.readouterr().out
    assert kernel.run_serial.signatures and kernel.run_parallel.signatures


def test_diagnose_lists_other_causes_apart(tmp_path, capsys):
    from .other_causes import priors_with_other_causes

    folder = str(priors_with_other_causes(tmp_path / "priors"))
    assert main(["diagnose", "--priors", folder, "--top", "40", "age_years=50",
                 "calf_tenderness_or_swelling=yes", "leg_swollen_one_side=yes"]) == 0
    out = capsys.readouterr().out
    ranked, _, rest = out.partition("\nother causes (not diagnoses, never ranked):\n")
    assert "other_calf_cause" not in ranked and rest.startswith("  other_calf_cause")
    from model import Model

    others = len(Model.default().other_causes)
    assert f"none of the 28 modelled conditions or {others} other causes:" in rest
