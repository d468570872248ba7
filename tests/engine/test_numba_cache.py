"""A read-only install with an unwritable home (issue 14): numba had no folder to cache the
kernel in and every inference failed with ``RuntimeError: cannot cache function
'_k_sizes': no locator available``. Now heelnet picks a private cache folder, or compiles
without one, and says which in one line.

The install is a copy of the package in a folder made read-only; for a test that also
runs as root (for whom permissions do not stop writes), ``__pycache__`` beside the kernel
is a file, not a folder, and HOME lies below a file, so neither can hold a cache folder.
The subprocess only declares the kernel (where numba looked for a cache folder and
raised), not compiles it, so the test takes seconds.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
import model
assert model.__file__.startswith(sys.argv[2]), model.__file__
import model.engine.kernel as kernel, numba
print(numba.config.CACHE_DIR, kernel.CACHE, type(kernel.run_parallel._cache).__name__)
"""


@pytest.fixture(scope="module")
def read_only_install(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("site")
    shutil.copytree(ROOT / "model", site / "model",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.rmtree(site / "model" / "priors", ignore_errors=True)
    shutil.copytree(ROOT / "priors", site / "model" / "priors",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (site / "model" / "engine" / "__pycache__").write_text("not a folder")
    for path in [site, *site.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(stat.S_IMODE(mode) & ~0o222)
    yield site
    for path in [site, *site.rglob("*")]:
        path.chmod(stat.S_IMODE(path.stat().st_mode) | 0o200)


def probe(site: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME", "PYTHONPATH", "TMPDIR")}
    env.update(HOME="/dev/null/home", PYTHONPATH=str(site), TMPDIR=str(tmp_path))
    return subprocess.run([sys.executable, "-c", PROBE, "", str(site)], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)


def test_a_read_only_install_caches_in_a_private_temporary_folder(read_only_install, tmp_path):
    done = probe(read_only_install, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
    assert done.stderr.startswith("heelnet: the package folder and numba's user cache are not "
                                  "writable; compiled code is cached in ")
    folder, cache, kind = done.stdout.split()
    assert Path(folder).parent == tmp_path and cache == "True" and kind == "FunctionCache"
    if hasattr(os, "getuid"):
        assert stat.S_IMODE(Path(folder).stat().st_mode) == 0o700


def test_with_nowhere_to_write_it_compiles_without_a_cache(monkeypatch, tmp_path, capsys):
    """The same choice in-process (the subprocess above shows it runs before numba looks):
    no folder of numba's, no home, no temporary folder -> no cache, one notice."""
    import tempfile

    from model.engine import _numba

    monkeypatch.setattr(_numba, "_numba_can_cache", lambda: False)
    monkeypatch.setenv("HOME", "/dev/null/home")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", "/dev/null/no-temp")
    assert _numba.cache_folder() is None
    assert _numba._choose() is False
    err = capsys.readouterr().err
    assert err.startswith("heelnet: no writable folder for numba's cache") and err.count("\n") == 1
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert _numba.cache_folder() == str(tmp_path / f"heelnet-numba-{os.getuid()}")


def test_a_temporary_folder_someone_else_can_write_to_is_not_used(tmp_path):
    from model.engine._numba import _private

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    assert not _private(str(shared))
    shared.chmod(0o700)
    assert _private(str(shared))
