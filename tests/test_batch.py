"""Scoring and simulating on Dask: the same rows, in the same order, with the same
per-row errors as on one machine, on a small in-process LocalCluster (two workers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model import HeelnetError, Model, score, simulate
from model.batch import _ordered, connect, score_file
from model.cli import main

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def cases() -> pd.DataFrame:
    """Simulated cases as the CSV reader gives them (text), with bad cells in a few rows."""
    table = simulate(600, seed=7).astype(str)
    table.loc[3, "age_years"] = "250"
    table.loc[40, "swelling"] = "maybe"
    table.loc[41, "expected_condition"] = "achilles_tendinopathyy"
    return table


def csv_with_a_short_line(path: Path, cases: pd.DataFrame) -> Path:
    lines = cases.to_csv(index=False, lineterminator="\n").splitlines()
    lines[100] = ",".join(lines[100].split(",")[:5])  # too few cells: an error row
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("with_case_id", [True, False])
def test_a_dask_dataframe_scores_like_pandas(client, cases, with_case_id):
    table = cases if with_case_id else cases.drop(columns="case_id")
    lazy = score(dd.from_pandas(table, npartitions=4))
    assert isinstance(lazy, dd.DataFrame)
    got = lazy.compute()
    pd.testing.assert_frame_equal(got, score(table))
    assert (got["error"] != "").sum() == 3


def test_model_score_takes_a_dask_dataframe(client, cases):
    model = Model.default()
    got = model.score(dd.from_pandas(cases, npartitions=3)).compute()
    pd.testing.assert_frame_equal(got, model.score(cases))


@pytest.mark.parametrize("with_case_id", [True, False])
def test_command_line_on_a_cluster_writes_the_same_file(client, cases, tmp_path, with_case_id):
    table = cases if with_case_id else cases.drop(columns="case_id")
    source = csv_with_a_short_line(tmp_path / "in.csv", table)
    here, there = tmp_path / "here.csv", tmp_path / "there.csv"
    assert main(["score", str(source), "-o", str(here), "--quiet", "--chunk-size", "70"]) == 0
    assert main(["score", str(source), "-o", str(there), "--quiet", "--chunk-size", "70",
                 "--dask", client.scheduler.address]) == 0
    assert there.read_bytes() == here.read_bytes()
    assert pd.read_csv(there, dtype=str)["case_id"].iloc[-1] == ("sim600" if with_case_id
                                                                 else "600")
    errors = pd.read_csv(there, dtype=str, keep_default_na=False)["error"]
    assert errors.str.startswith("line 101 has 5 cells").sum() == 1
    assert (errors != "").sum() == 4


def test_parquet_in_and_out_hold_the_same_rows(client, cases, tmp_path):
    source = tmp_path / "in.parquet"
    cases.to_parquet(source, index=False)
    target = tmp_path / "out.parquet"
    score_file(source, target, Model.default(), client, chunk_size=64)
    got = pd.read_parquet(target)
    expected = score(cases)
    assert got["case_id"].tolist() == expected["case_id"].tolist()
    pd.testing.assert_frame_equal(got, expected.reset_index(drop=True), check_dtype=False)


def test_simulation_on_a_cluster_is_reproducible(client, tmp_path):
    files = []
    for name, extra in (("a", ["--dask", client.scheduler.address]), ("b", [])):
        target = tmp_path / f"{name}.csv"
        assert main(["simulate", "-n", "250", "--seed", "3", "--partition-size", "60",
                     "-o", str(target), *extra]) == 0
        files.append(target.read_bytes())
    assert files[0] == files[1]
    table = pd.read_csv(tmp_path / "a.csv", dtype=str, keep_default_na=False)
    assert table["case_id"].tolist() == [f"sim{i:03d}" for i in range(1, 251)]
    assert table.drop(columns="case_id").iloc[:60].ne(table.drop(columns="case_id")
                                                       .iloc[60:120].to_numpy()).any().any()


def test_bad_local_cluster_size_is_one_line(capsys, tmp_path):
    code = main(["simulate", "-n", "5", "-o", str(tmp_path / "x.csv"), "--dask", "local:zero"])
    assert code == 1
    assert "local:N needs a whole number of workers" in capsys.readouterr().err
    with pytest.raises(HeelnetError, match="local:N"), connect("local:0"):
        pass


class FakeFuture:
    def __init__(self, value, log):
        self.value, self.log = value, log

    def result(self):
        self.log.append("result")
        return self.value


class FakeClient:
    """Counts how many tasks are in flight at once."""

    def __init__(self):
        self.log, self.in_flight, self.most = [], 0, 0

    def nthreads(self):
        return {"w1": 1, "w2": 1}

    def submit(self, function, *args, pure):
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        future = FakeFuture(function(*args), self.log)
        original = future.result

        def result():
            self.in_flight -= 1
            return original()

        future.result = result
        return future

    def cancel(self, futures):
        self.in_flight -= len(futures)


def test_at_most_a_window_of_chunks_is_in_flight():
    client = FakeClient()
    tasks = ((np.square, i) for i in range(100))
    assert list(_ordered(client, tasks, None)) == [i * i for i in range(100)]
    assert client.most == 5  # 2 x 2 worker threads + 1: memory does not grow with the file


def test_a_file_with_quotes_is_read_on_the_client_and_scores_the_same(client, cases, tmp_path):
    table = cases.assign(notes=['says "ouch", twice'] + [""] * (len(cases) - 1))
    source = csv_with_a_short_line(tmp_path / "in.csv", table)
    assert b'"' in source.read_bytes()
    here, there = tmp_path / "here.csv", tmp_path / "there.csv"
    assert main(["score", str(source), "-o", str(here), "--quiet", "--chunk-size", "70"]) == 0
    assert main(["score", str(source), "-o", str(there), "--quiet", "--chunk-size", "70",
                 "--dask", client.scheduler.address]) == 0
    assert there.read_bytes() == here.read_bytes()


def test_parquet_without_dask_on_the_command_line(cases, tmp_path):
    source = tmp_path / "in.parquet"
    cases.iloc[:50].to_parquet(source, index=False)
    target = tmp_path / "out.csv"
    assert main(["score", str(source), "-o", str(target), "--quiet"]) == 0
    got = pd.read_csv(target, dtype=str, keep_default_na=False)
    expected = score(cases.iloc[:50])
    assert got["case_id"].tolist() == expected["case_id"].tolist()
    assert got["top1"].tolist() == expected["top1"].tolist()
    assert got["error"].tolist() == expected["error"].tolist()
    np.testing.assert_array_equal(got["p_gout"].replace("", "nan").astype(float),
                                  expected["p_gout"].to_numpy())


def test_intervals_are_refused_on_dask_for_now(cases, tmp_path, capsys):
    source = tmp_path / "in.csv"
    cases.iloc[:5].to_csv(source, index=False)
    code = main(["score", str(source), "-o", str(tmp_path / "out.csv"), "--intervals",
                 "--dask", "local:1"])
    assert code == 1
    assert "--intervals works on CSV files scored here" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()
