"""What a user meets in a fresh process: import time, a one-case ``diagnose``, the first
run after an install, and ``python -m model score`` on a large file (plain and on Dask)
with the peak memory of the whole process tree. Used by ``bench.py``."""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DIAGNOSE = [sys.executable, "-m", "model", "diagnose", "age_years=41", "pain_heel_back=yes",
            "swelling=no", "pain_above_heel=yes"]


def wall(cmd: list[str], env: dict[str, str] | None = None) -> float:
    """Seconds of one run of ``cmd`` (which must succeed)."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def median_of(cmd: list[str], runs: int = 5) -> tuple[float, list[float]]:
    """Median seconds of ``runs`` runs, after one run that is not counted."""
    wall(cmd)
    times = [wall(cmd) for _ in range(runs)]
    return statistics.median(times), times


def startup(runs: int = 5, cold_compile: bool = False) -> None:
    """Print import and one-case times in fresh processes."""
    imp, times = median_of([sys.executable, "-c", "import model"], runs)
    print(f"fresh `import model`: median {imp:.2f} s of {runs} "
          f"({', '.join(f'{t:.2f}' for t in times)})")
    modules = subprocess.run(
        [sys.executable, "-c", "import sys, model; model.diagnose({'pain_heel_back': True}); "
         "print(' '.join(m for m in ('pgmpy', 'sklearn', 'matplotlib', 'dask') "
         "if m in sys.modules) or 'none')"], check=True, capture_output=True, text=True)
    print(f"  heavy packages imported by import model + diagnose(): {modules.stdout.strip()}")
    one, times = median_of(DIAGNOSE, runs)
    print(f"fresh `python -m model diagnose ...`: median {one:.2f} s of {runs} "
          f"({', '.join(f'{t:.2f}' for t in times)})")
    with tempfile.TemporaryDirectory() as numba_dir, tempfile.TemporaryDirectory() as ours:
        env = os.environ | {"NUMBA_CACHE_DIR": numba_dir, "HEELNET_CACHE_DIR": ours}
        print(f"first `diagnose` after an install (empty numba and heelnet caches): "
              f"{wall(DIAGNOSE, env):.2f} s")
        if cold_compile:
            t = wall([sys.executable, "-m", "model", "warmup"], env)
            print(f"`python -m model warmup` from empty caches (compiles both kernels): {t:.1f} s")
    print(f"`python -m model warmup` with the kernel compiled: "
          f"{wall([sys.executable, '-m', 'model', 'warmup']):.2f} s")


def tree_peak(cmd: list[str]) -> tuple[float, float, int]:
    """Run ``cmd``; return (seconds, peak summed RSS of it and its descendants in MB,
    exit status), sampling every 0.1 s."""
    import psutil

    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        total = 0
        with contextlib.suppress(psutil.Error):
            for p in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
        peak = max(peak, total)
        time.sleep(0.1)
    seconds = time.perf_counter() - start
    if proc.returncode:
        print(proc.stderr.read().decode()[-2000:])
    return seconds, peak / 2**20, proc.returncode


def score_rows(source: Path, rows: int, dask: str | None) -> None:
    """Time ``python -m model score`` on ``source`` (``rows`` rows), optionally on Dask."""
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "scored.csv"
        cmd = [sys.executable, "-m", "model", "score", str(source), "-o", str(target), "--quiet"]
        if dask:
            cmd += ["--dask", dask]
        seconds, peak, code = tree_peak(cmd)
        where = f"--dask {dask}" if dask else "one process"
        print(f"python -m model score, {rows} rows, {where}: {seconds:.1f} s "
              f"({seconds / rows * 1e6:.1f} us/row), peak RSS of all processes {peak:.0f} MB, "
              f"exit {code}")
