"""The output layer (model/files.py) as every command uses it: where an output goes, what is
refused, and what an interrupted run leaves behind (issue 14)."""

from __future__ import annotations

import os
import signal
import stat
import threading
from pathlib import Path

import pandas as pd
import pytest

from model import HeelnetError, Model
from model.cli import main
from model.files import check_output, signals_as_interrupts, write_atomic

TOY = str(Path(__file__).parent / "toy_priors")
CASES = "case_id,pain,lump\na,yes,no\nb,no,yes\nc,yes,yes\n"


def score(tmp_path: Path, output: str | Path, *extra: str) -> int:
    source = tmp_path / "in.csv"
    if not source.exists():
        source.write_text(CASES)
    return main(["score", str(source), "-o", str(output), "--priors", TOY, "--quiet", *extra])


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


# ----------------------------------------------------------------------------- where it goes


def test_dash_is_standard_output_and_messages_go_to_stderr(tmp_path, capsys):
    assert score(tmp_path, "-") == 0
    out, err = capsys.readouterr()
    assert out.startswith("case_id,top1,") and out.count("\n") == 4
    assert "wrote -: 3 rows" in err
    assert leftovers(tmp_path) == []


def test_simulate_and_export_write_to_standard_output(capsys):
    assert main(["simulate", "-n", "3", "--priors", TOY, "-o", "-"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("case_id,") and out.count("\n") == 4 and "wrote -" in err
    assert main(["export", "--format", "bif", "--priors", TOY, "-o", "-"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("network") and "variable pain" in out


def test_a_device_is_written_to_in_place_not_replaced(tmp_path):
    """Issue 14: -o /dev/stdout (as root) replaced the device link with a regular file.

    The devices are private copies in tmp_path (a /dev/null made with mknod, a link to
    /proc/self/fd/1), so that a regression cannot replace the machine's own /dev/null."""
    null = tmp_path / "null"
    try:
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, AttributeError):
        pytest.skip("making a device node needs root")
    assert score(tmp_path, null) == 0
    assert stat.S_ISCHR(null.lstat().st_mode) and null.read_bytes() == b""
    assert main(["simulate", "-n", "2", "--priors", TOY, "-o", str(null)]) == 0
    assert stat.S_ISCHR(null.lstat().st_mode)
    if Path("/proc/self/fd/1").exists():  # /dev/stdout: written to whatever stdout is
        stdout = tmp_path / "stdout"
        stdout.symlink_to("/proc/self/fd/1")
        assert score(tmp_path, stdout) == 0
        assert stdout.is_symlink() and os.readlink(stdout) == "/proc/self/fd/1"
    assert leftovers(tmp_path) == []


def test_a_fifo_is_written_to_in_place(tmp_path):
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    assert score(tmp_path, fifo) == 0
    reader.join(timeout=20)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert received and received[0].decode().count("\n") == 4
    assert leftovers(tmp_path) == []


def test_a_symlink_is_followed_and_its_target_replaced(tmp_path):
    """Issue 14: -o link.csv became a regular file and left the link's target stale."""
    target = tmp_path / "results" / "scored.csv"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert score(tmp_path, link) == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert pd.read_csv(target)["case_id"].tolist() == ["a", "b", "c"]
    assert leftovers(tmp_path) == leftovers(target.parent) == []


def test_a_dangling_symlink_makes_its_target(tmp_path):
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "new.csv")
    assert score(tmp_path, link) == 0
    assert link.is_symlink() and (tmp_path / "new.csv").is_file()


def test_replacing_keeps_the_old_files_permissions(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    target.chmod(0o640)
    assert score(tmp_path, target) == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


# ----------------------------------------------------------------------------- refused


def test_output_that_is_the_input_is_refused_for_every_writer(tmp_path, capsys):
    source = tmp_path / "cases.csv"
    source.write_text(CASES)
    hard = tmp_path / "hard.csv"
    os.link(source, hard)
    with pytest.raises(HeelnetError, match="it is the input file"):
        check_output(hard, inputs=[source])
    code = main(["score", str(source), "-o", str(hard), "--priors", TOY, "--quiet"])
    assert code == 1 and "it is the input file" in capsys.readouterr().err
    assert source.read_text() == CASES


def test_a_read_only_output_is_refused_unless_forced(tmp_path, capsys):
    """Issue 14: a chmod-444 output was replaced silently."""
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    target.chmod(0o444)
    assert score(tmp_path, target) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "read-only" in err and "--force" in err
    assert target.read_text() == "old\n"
    for argv in (["simulate", "-n", "2"], ["export", "--format", "bif"]):
        assert main([*argv, "--priors", TOY, "-o", str(target)]) == 1
        assert "read-only" in capsys.readouterr().err
    assert target.read_text() == "old\n"
    assert score(tmp_path, target, "--force") == 0
    assert pd.read_csv(target)["case_id"].tolist() == ["a", "b", "c"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o444  # still protected
    assert main(["--force", "export", "--format", "bif", "--priors", TOY, "-o", str(target)]) == 0


def test_report_onto_a_file_is_refused_before_anything_is_written(tmp_path, capsys):
    """Issue 14: --report FILE replaced the CSV, then failed."""
    (tmp_path / "in.csv").write_text("case_id,pain,expected_condition\na,yes,tendon\n")
    output = tmp_path / "out.csv"
    output.write_text("old\n")
    report = tmp_path / "report.txt"
    report.write_text("not a folder\n")
    assert score(tmp_path, output, "--report", str(report)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "it is a file, not a folder" in err
    assert output.read_text() == "old\n" and report.read_text() == "not a folder\n"


def test_report_with_a_read_only_report_md_is_refused_before_scoring(tmp_path, capsys):
    (tmp_path / "in.csv").write_text("case_id,pain,expected_condition\na,yes,tendon\n")
    report = tmp_path / "report"
    report.mkdir()
    (report / "report.md").write_text("old report\n")
    (report / "report.md").chmod(0o444)
    output = tmp_path / "out.csv"
    assert score(tmp_path, output, "--report", str(report)) == 1
    assert "read-only" in capsys.readouterr().err and not output.exists()
    assert score(tmp_path, output, "--report", str(report), "--force") == 0
    assert "| top-1 accuracy |" in (report / "report.md").read_text()


# ----------------------------------------------------------------------------- interrupted


@pytest.mark.parametrize(("name", "status"), [("SIGTERM", 143), ("SIGHUP", 129)])
def test_sigterm_and_sighup_leave_the_old_output_and_no_temporary_file(
        tmp_path, capsys, monkeypatch, name, status):
    """Issue 14: SIGTERM mid-run left a hidden .OUT.csv.*.part (SIGINT was clean)."""
    number = getattr(signal, name)
    target = tmp_path / "out.csv"
    target.write_text("old results\n")
    original = Model.infer_all
    calls = []

    def signalled(self, context, findings):
        calls.append(1)
        if len(calls) == 2:  # mid-run: the first chunk is already in the temporary file
            assert leftovers(tmp_path)
            os.kill(os.getpid(), number)
        return original(self, context, findings)

    monkeypatch.setattr(Model, "infer_all", signalled)
    assert score(tmp_path, target, "--chunk-size", "1") == status
    assert capsys.readouterr().err == f"error: stopped by {name} (no output was replaced)\n"
    assert target.read_text() == "old results\n"
    assert leftovers(tmp_path) == []
    assert signal.getsignal(number) in (signal.SIG_DFL, signal.default_int_handler)


def test_an_ignored_signal_stays_ignored():
    """nohup ignores SIGHUP: the handler must not turn it back on."""
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with signals_as_interrupts():
            assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN)
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_write_atomic_binary_and_failure(tmp_path):
    target = tmp_path / "figure.png"
    write_atomic(target, lambda handle: handle.write(b"\x89PNG"), binary=True)
    assert target.read_bytes() == b"\x89PNG"

    def failing(handle):
        handle.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        write_atomic(target, failing, binary=True)
    assert target.read_bytes() == b"\x89PNG" and leftovers(tmp_path) == []
