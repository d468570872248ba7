"""Progress for long work, on a terminal only.

Long work (compiling the inference kernel on first use, simulating, sensitivity,
scoring a large table) shows a tqdm bar on stderr when stderr is a terminal, and
nothing otherwise: logs, pipes, notebooks' captured output and tests stay clean.
Set ``HEELNET_PROGRESS=0`` to silence it on a terminal too. tqdm is imported only
when a bar is shown.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["bar", "enabled", "while_slow"]


def enabled() -> bool:
    """True when progress may be shown: stderr is a terminal and not switched off."""
    if os.environ.get("HEELNET_PROGRESS", "").strip() == "0":
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


class _Silent:
    """A bar that shows nothing."""

    def update(self, n: int = 1) -> None:
        """Do nothing."""


@contextlib.contextmanager
def bar(total: int | None, desc: str, unit: str = "", *, minimum: int = 0) -> Iterator[Any]:
    """A tqdm bar on a terminal (for ``total`` of at least ``minimum``), else a silent one;
    both have ``update(n)``."""
    if not enabled() or (total is not None and total < minimum):
        yield _Silent()
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False) as shown:
        yield shown


@contextlib.contextmanager
def while_slow(desc: str, after: float = 1.0) -> Iterator[None]:
    """Show ``desc`` and the time elapsed if the block takes longer than ``after`` seconds
    (on a terminal only): for work that cannot count its own progress."""
    if not enabled():
        yield
        return
    done = threading.Event()

    def tick() -> None:
        if done.wait(after):
            return
        from tqdm import tqdm

        with tqdm(desc=desc, bar_format="{desc} {elapsed}", file=sys.stderr,
                  leave=False) as shown:
            while not done.wait(0.5):
                shown.refresh()

    thread = threading.Thread(target=tick, name="heelnet-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
