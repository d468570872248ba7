"""Long work shows progress on a terminal, and nothing elsewhere (issue 14: the first-run
compile, simulate of many rows and sensitivity() were silent)."""

from __future__ import annotations

import io
import sys
import time

import model.engine as engine
from model import progress, sensitivity, simulate


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def on_a_terminal(monkeypatch) -> Terminal:
    """stderr as a terminal (set inside the test: pytest's capture replaces stderr between
    fixture set-up and the test)."""
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    monkeypatch.delenv("HEELNET_PROGRESS", raising=False)
    return screen


def test_bars_only_on_a_terminal(monkeypatch):
    terminal = on_a_terminal(monkeypatch)
    with progress.bar(10, "work", minimum=5) as shown:
        shown.update(10)
    assert "work" in terminal.getvalue()
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a terminal
    assert not progress.enabled()


def test_while_slow_speaks_only_when_slow(monkeypatch):
    terminal = on_a_terminal(monkeypatch)
    with progress.while_slow("quick job", after=5):
        pass
    assert terminal.getvalue() == ""
    with progress.while_slow("slow job", after=0.01):
        time.sleep(0.3)
    assert "slow job" in terminal.getvalue()


def test_the_first_run_of_the_kernel_announces_a_slow_compile(monkeypatch, toy_model):
    seen = []
    monkeypatch.setattr(engine, "_USED", set())
    monkeypatch.setattr(engine, "while_slow", lambda desc: seen.append(desc) or
                        progress.while_slow(desc))
    toy_model.diagnose({"pain": True})
    toy_model.diagnose({"lump": True})
    assert len(seen) == 1 and "compiling the inference kernel" in seen[0]


def test_simulate_and_sensitivity_show_progress(monkeypatch, toy_model, model):
    terminal = on_a_terminal(monkeypatch)
    simulate(25_000, seed=1, model=toy_model)
    assert "simulating" in terminal.getvalue()
    sensitivity(model, {"pain_heel_back": True}, conditions=["achilles_tendinopathy"],
                tables=["likelihood"])
    assert "sensitivity" in terminal.getvalue()
