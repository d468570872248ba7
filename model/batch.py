"""Score and simulate files of any length, on this machine or on a Dask cluster.

Dask is optional (``pip install -e ".[dask]"``); ``import model`` never imports it.
Every partition, wherever it runs, is a pandas DataFrame handled by the same
function as on one machine (:func:`model.scoring.score_partition`,
:func:`_simulate_part`), so a cluster writes the same rows, in the same order, with
the same per-row errors:

- :func:`score_dask` maps a Dask DataFrame's partitions with ``map_partitions`` and
  an explicit ``meta`` (lazy, like any Dask DataFrame).
- :func:`score_file` streams a case file: the client cuts a CSV into raw slices of
  whole records (:mod:`model.slices`), each worker parses its slice with the same
  reader as without Dask (so a malformed line gets the same error row and line
  number) and scores it, and the client writes the results in input order through
  an atomic writer. At most ``window`` slices are in flight, so memory stays flat
  however long the file. Parquet files are read a batch at a time on the client.
- :func:`simulate_file` draws partition ``i`` of ``partition_size`` cases with
  ``numpy.random.default_rng([seed, i])``: the same seed and partition size give the
  same file whatever the number of workers.

:func:`connect` turns ``--dask`` into a client: ``local:N`` starts a
``dask.distributed.LocalCluster`` of N workers on this machine (threads of this
process: the kernel releases the GIL, and nothing is copied between processes);
anything else is the address of a running scheduler (``tcp://host:8786``), whose
workers are processes anywhere.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from .columns import CASE_ID, Layout, plan_columns
from .diagnosis import ModelCore
from .errors import HeelnetError
from .scoring import CHUNK_SIZE, score_partition
from .simulate import sample, simulate, to_frame
from .slices import parse_slice, slices
from .tabular import is_parquet, open_cases, write_chunks

__all__ = ["PARTITION_SIZE", "connect", "score_dask", "score_file", "simulate_file"]

#: Cases simulated per partition by :func:`simulate_file`.
PARTITION_SIZE = 100_000


@contextlib.contextmanager
def connect(scheduler: str) -> Iterator[Any]:
    """A ``dask.distributed.Client`` for ``local:N`` or a scheduler address, closed after."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise HeelnetError("--dask needs Dask's distributed scheduler: "
                           "pip install -e \".[dask]\"") from None
    if scheduler.startswith("local:"):
        count = scheduler.removeprefix("local:")
        if not count.isdigit() or int(count) < 1:
            raise HeelnetError(f"--dask local:N needs a whole number of workers, 1 or more; "
                               f"got '{scheduler}'")
        # worker threads in this process: the kernel runs without the GIL, and no chunk
        # is copied between processes (on one machine, faster than worker processes)
        with LocalCluster(n_workers=int(count), threads_per_worker=1, processes=False,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(scheduler, timeout="20s")
    except (OSError, TimeoutError, ValueError) as error:
        raise HeelnetError(f"cannot reach the Dask scheduler at '{scheduler}' ({error}); give "
                           "local:N to start N workers here, or a scheduler's address such "
                           "as tcp://10.0.0.5:8786") from None
    with client:
        yield client


def _single_threaded(function: Callable[..., Any], *args: Any) -> Any:
    """Run ``function`` with one numba thread (a thread-local setting): the Dask workers
    are the parallelism, and the kernel then launches no parallel region."""
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return function(*args)
    finally:
        numba.set_num_threads(before)


def _score_chunk(model: ModelCore, layout: Layout, frame: pd.DataFrame, first_row: int,
                 errors: np.ndarray | None, chunk_size: int) -> pd.DataFrame:
    return _single_threaded(score_partition, frame, model, layout, first_row, errors,
                            chunk_size)


def _warm(model: ModelCore) -> float:
    return model.engine.warm()


def _ordered(client: Any, tasks: Iterable[tuple[Any, ...]], window: int | None
             ) -> Iterator[Any]:
    """Submit ``(function, *args)`` tasks, keeping at most ``window`` in flight, and yield
    their results in order."""
    window = window or 2 * sum(client.nthreads().values()) + 1
    pending: deque[Any] = deque()
    try:
        for function, *args in tasks:
            pending.append(client.submit(function, *args, pure=False))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        if pending:
            client.cancel(list(pending))


def score_file(source: str | os.PathLike[str], target: str | os.PathLike[str],
               model: ModelCore, client: Any = None, *, keep: Iterable[str] = (),
               chunk_size: int = CHUNK_SIZE,
               on_chunk: Callable[[pd.DataFrame], None] | None = None,
               window: int | None = None, force: bool = False) -> Layout:
    """Score a CSV or Parquet file of cases into a CSV or Parquet file (by extension).

    With a Dask ``client`` the chunks are scored on its workers (a CSV file is sent as
    raw slices of whole records, which the workers parse); without one, here. The
    output is the same either way, and is written only once complete
    (:func:`model.files.write_atomic`: the input itself and, without ``force``, a
    read-only file are refused).

    Raises
    ------
    HeelnetError
        For a bad header or an empty table.
    """
    chunks = open_cases(source, chunk_size)
    try:
        layout = plan_columns(chunks.header, model, keep)
        tasks = _tasks(source, chunks, layout, model, client, chunk_size)
    except BaseException:
        chunks.close()
        raise

    def scored() -> Iterator[pd.DataFrame]:
        results = (_ordered(client, tasks, window) if client is not None
                   else (function(*args) for function, *args in tasks))
        rows = 0
        for out in results:
            if not layout.has_case_id and rows:
                out[CASE_ID] += rows  # each slice numbers its rows from 1
            rows += len(out)
            if on_chunk is not None:
                on_chunk(out)
            yield out
        if not rows:
            raise HeelnetError(f"'{os.fspath(source)}' has a header but no cases")

    try:
        write_chunks(target, layout.output, scored(), force=force, inputs=[source])
    finally:
        chunks.close()
    return layout


def _tasks(source: str | os.PathLike[str], chunks: Any, layout: Layout, model: ModelCore,
           client: Any, chunk_size: int) -> Iterator[tuple[Any, ...]]:
    """The scoring tasks of a file, in order: raw CSV slices for a cluster when the file
    can be cut, else chunks read here."""
    remote: Any = model
    cut = None
    if client is not None:
        client.run(_warm, model)  # compile or load the kernel on every worker, up front
        remote = client.scatter(model, broadcast=True)
        if not is_parquet(source):
            cut = slices(source, chunk_size, chunks.header)
    if cut is not None:
        chunks.close()
        head = client.scatter(cut.head, broadcast=True)
        # each slice goes to a worker as data, not inside the task (the scheduler keeps a
        # history of recent task graphs: with the bytes in them, memory would grow)
        return ((_score_slice, remote, layout, head, client.scatter(body, hash=False), first,
                 chunk_size) for body, first in cut)
    if client is not None:
        return ((_score_chunk, remote, layout, client.scatter(frame, hash=False), 1, errors,
                 chunk_size) for frame, errors in chunks)
    return ((_score_chunk, remote, layout, frame, 1, errors, chunk_size)
            for frame, errors in chunks)


def _score_slice(model: ModelCore, layout: Layout, head: bytes, body: bytes, first_line: int,
                 chunk_size: int) -> pd.DataFrame:
    frame, errors = parse_slice(head, body, first_line)
    return _score_chunk(model, layout, frame, 1, errors, chunk_size)


def score_dask(cases: Any, model: ModelCore, *, keep: Iterable[str] = (),
               chunk_size: int = CHUNK_SIZE) -> Any:
    """Score a Dask DataFrame: a lazy Dask DataFrame of the same partitions, scored.

    Rows keep their index and order. Without a ``case_id`` column the rows are
    numbered from 1 across partitions, which needs the partitions' lengths first
    (one extra pass over the input).
    """
    layout = plan_columns(list(cases.columns), model, keep)
    # the columns' dtypes as a real partition gives them (text as str, not object)
    meta = score_partition(cases._meta_nonempty, model, layout, 1, None, chunk_size).iloc[:0]
    if layout.has_case_id:
        return cases.map_partitions(score_partition, model, layout, 1, None, chunk_size,
                                    meta=meta)
    lengths = cases.map_partitions(len).compute()
    starts = np.concatenate([[1], 1 + np.cumsum(np.asarray(lengths))[:-1]]).tolist()
    return cases.map_partitions(_numbered, model, layout, starts, chunk_size, meta=meta)


def _numbered(frame: pd.DataFrame, model: ModelCore, layout: Layout, starts: list[int],
              chunk_size: int, partition_info: dict[str, Any] | None = None) -> pd.DataFrame:
    first = starts[partition_info["number"]] if partition_info else 1
    return score_partition(frame, model, layout, first, None, chunk_size)


def _simulate_part(model: ModelCore, seed: int, part: int, first: int, size: int, total: int,
                   settings: dict[str, Any]) -> pd.DataFrame:
    """Partition ``part`` of a simulation: ``size`` cases drawn with rng([seed, part]),
    numbered from ``first`` as ``sim`` + the case number padded to ``total``'s width."""
    frame = to_frame(model, sample(model, size, np.random.default_rng([seed, part]),
                                   **settings))
    width = len(str(total))
    frame["case_id"] = [f"sim{i:0{width}d}" for i in range(first, first + size)]
    return frame


def simulate_file(n: int, seed: int, target: str | os.PathLike[str], model: ModelCore,
                  client: Any = None, *, partition_size: int = PARTITION_SIZE,
                  window: int | None = None, force: bool = False, **settings: Any) -> int:
    """Simulate ``n`` cases in partitions (on a Dask cluster when ``client`` is given) and
    write them, in order, to ``target`` (CSV, or Parquet by extension); returns ``n``."""
    if n < 1 or partition_size < 1:
        raise HeelnetError(f"need at least one case and a partition size of 1 or more; "
                           f"got {n} and {partition_size}")
    simulate(1, model, seed, **settings)  # check the settings here, not on a worker
    starts = range(0, n, partition_size)
    remote = client.scatter(model, broadcast=True) if client is not None else model
    tasks = ((_simulate_part, remote, seed, i, start + 1, min(partition_size, n - start), n,
              settings) for i, start in enumerate(starts))
    parts = (_ordered(client, tasks, window) if client is not None
             else (function(*args) for function, *args in tasks))
    columns = ["case_id", *model.vocabulary.context, *model.findings, "expected_condition",
               "expected_triage"]
    return write_chunks(target, columns, parts, force=force)
