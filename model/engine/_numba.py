"""numba, the two ways the engine compiles with it, and where compiled code is cached.

Imported by the kernel modules only, so ``import model`` does not import numba.
``error_model="numpy"`` drops Python's zero-division checks from the integer
arithmetic of the hot loops (no divisor there can be zero); it halves the time of
the per-block loops.

Compiled code is cached on disk (``cache=True``) where numba finds a writable
folder: ``NUMBA_CACHE_DIR``, ``__pycache__`` beside this package's source, or
numba's user-wide cache (``~/.cache/numba``). In a read-only install with an
unwritable home there is none, and numba would refuse every inference ("cannot
cache function ...: no locator available"). So before the kernel is declared,
:func:`cache_folder` checks those folders as numba will; if none is writable it
points numba to a per-user cache (``~/.cache/heelnet/numba``), else to a private
folder in the temporary directory, else compiles without caching (20 to 50 s in
every new process, by machine), and says which in one line on stderr.
"""

from __future__ import annotations

import os
import sys
import tempfile

import numba
from numba.core import config

__all__ = ["CACHE", "cache_folder", "inline", "njit", "numba"]


def _writable(folder: str) -> bool:
    """True when files can be made in ``folder`` (made if needed), as numba tests it."""
    try:
        os.makedirs(folder, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return False
    return True


def _numba_can_cache() -> bool:
    """True when numba has a writable cache folder of its own for the kernel's source."""
    if config.CACHE_DIR and _writable(config.CACHE_DIR):
        return True
    if _writable(os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__")):
        return True
    from numba.misc.appdirs import AppDirs

    return _writable(AppDirs(appname="numba", appauthor=False).user_cache_dir)


def _private(folder: str) -> bool:
    """True when ``folder`` is (or was just made) a folder only this user can write to:
    compiled code is loaded from it, so nobody else may put files there."""
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        status = os.lstat(folder)
    except OSError:
        return False
    if hasattr(os, "getuid") and (status.st_uid != os.getuid() or status.st_mode & 0o022):
        return False
    return os.path.isdir(folder) and not os.path.islink(folder) and _writable(folder)


def cache_folder() -> str | None:
    """Where heelnet has numba cache compiled code: ``""`` for numba's own choice, a
    folder of heelnet's own when numba has none, or ``None`` when nothing is writable."""
    if _numba_can_cache():
        return ""
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    user = getattr(os, "getuid", lambda: "user")()
    for folder in (os.path.join(home, "heelnet", "numba"),
                   os.path.join(tempfile.gettempdir(), f"heelnet-numba-{user}")):
        if _private(folder):
            return folder
    return None


def _choose() -> bool:
    """Point numba at a cache folder if it needs one; return whether to cache at all."""
    folder = cache_folder()
    if folder:
        os.environ["NUMBA_CACHE_DIR"] = config.CACHE_DIR = folder
        print(f"heelnet: the package folder and numba's user cache are not writable; "
              f"compiled code is cached in {folder}", file=sys.stderr)
    elif folder is None:
        print("heelnet: no writable folder for numba's cache; the inference kernel is "
              "compiled in every new process (20 to 50 s; set NUMBA_CACHE_DIR to a "
              "writable folder to keep it)", file=sys.stderr)
    return folder is not None


#: Whether compiled code is cached on disk (see the module docstring).
CACHE = _choose()
#: A compiled function, cached on disk.
njit = numba.njit(cache=CACHE, nogil=True, error_model="numpy")
#: A small helper inlined where it is called: no call, no copy of its arguments.
inline = numba.njit(cache=CACHE, nogil=True, error_model="numpy", inline="always")
