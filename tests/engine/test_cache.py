"""The disk cache of compiled structures: a hit gives the same structure, and a
cache that cannot be used is silently skipped (never a different result)."""

from __future__ import annotations

import numpy as np
import pytest

from model.engine import Engine, cache
from model.engine import tables as engine_tables
from tests.engine.test_engine import random_network


@pytest.fixture()
def fresh(monkeypatch, tmp_path):
    """An empty cache folder and an empty in-memory cache of structures."""
    monkeypatch.setenv("HEELNET_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(engine_tables, "_STRUCTURES", {})
    return tmp_path / "cache"


def same(a, b) -> bool:
    """Two structures are equal field by field (``can_cause`` is an array)."""
    return (a.card, a.strata, a.blocks, a.events, a.unused) == (
        b.card, b.strata, b.blocks, b.events, b.unused) and np.array_equal(a.can_cause,
                                                                           b.can_cause)


def entries(folder):
    return sorted(folder.glob("structure-*.pickle")) if folder.is_dir() else []


def test_a_fresh_process_reads_the_structure_back(fresh, monkeypatch):
    net = random_network(1)
    first = Engine(net)
    assert len(entries(fresh)) == 1
    monkeypatch.setattr(engine_tables, "_STRUCTURES", {})  # as in a new process
    monkeypatch.setattr(engine_tables, "_structure", lambda net: pytest.fail("recomputed"))
    second = Engine(net)
    assert same(second.structure, first.structure)
    assert all(np.array_equal(a, b) for a, b in zip(first.tables, second.tables, strict=True))


def test_a_new_shape_is_a_new_entry_and_new_numbers_are_not(fresh):
    net = random_network(1)
    Engine(net)
    Engine(random_network(1, n_find=15))
    assert len(entries(fresh)) == 2
    edited = random_network(1)
    edited.leak[:] = edited.leak / 2  # same shape, other numbers: refilled, not stored
    Engine(edited)
    assert len(entries(fresh)) == 2


def test_the_code_is_part_of_the_key(monkeypatch):
    shape = ("a", (1, 2))
    before = cache.key_of(shape)
    monkeypatch.setattr(cache, "_code_digest", lambda: b"other source")
    assert cache.key_of(shape) != before


def test_a_corrupt_entry_is_recomputed(fresh):
    net = random_network(2)
    expected = Engine(net).structure
    (entry,) = entries(fresh)
    entry.write_bytes(b"not a pickle")
    engine_tables._STRUCTURES.clear()
    assert same(Engine(net).structure, expected)


def test_an_unwritable_folder_is_skipped(fresh, monkeypatch):
    """A folder nothing can be written to (as a read-only home, even for root, whom
    chmod does not stop): the structure is computed and nothing is stored or raised."""
    tried = []

    def refuse(*args, **kwargs):
        tried.append(kwargs.get("dir"))
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cache.tempfile, "mkstemp", refuse)
    assert Engine(random_network(3)).structure is not None
    assert tried == [fresh] and entries(fresh) == []


def test_a_folder_that_cannot_exist_is_skipped(monkeypatch, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.setenv("HEELNET_CACHE_DIR", str(blocker / "cache"))  # under a file
    monkeypatch.setattr(engine_tables, "_STRUCTURES", {})
    assert Engine(random_network(4)).structure is not None


def test_empty_setting_turns_the_cache_off(monkeypatch):
    monkeypatch.setenv("HEELNET_CACHE_DIR", "")
    assert cache.cache_dir() is None
    assert cache.cached(("x",), lambda: 42) == 42


def test_only_the_latest_entries_are_kept(fresh, monkeypatch):
    monkeypatch.setattr(cache, "KEEP", 2)
    for n_find in (12, 13, 14):
        Engine(random_network(5, n_find=n_find))
    assert len(entries(fresh)) == 2
