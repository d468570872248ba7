"""Batch scoring: what a user checks in the output of score() and `python -m model score`.

Most tests use the toy knowledge base (tests/toy_priors: findings pain and lump,
conditions tendon and tear) so that they are fast; a few compare with the bundled
model's diagnose().
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model import HeelnetError, Model, UnknownIdError
from model.cli import main
from model.scoring import score

TOY = str(Path(__file__).parent / "toy_priors")

CASES = pd.DataFrame({
    "case_id": ["c1", "c2", "c3", "c4"],
    "age_years": ["30", "12", "", "70"],
    "sex": ["female", "male", "", "Male"],
    "runner": ["yes", "no", "", "1"],
    "pain": ["yes", "yes", "", "no"],
    "lump": ["no", "yes", "", ""],
    "notes": ["first, with a comma", 'says "ouch"', "nothing known", "é ü 漢字"],
})


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def run_score(tmp_path: Path, text: str | bytes, *extra: str) -> tuple[int, Path]:
    source = write(tmp_path / "in.csv", text)
    target = tmp_path / "out.csv"
    code = main(["score", str(source), "-o", str(target), "--priors", TOY, "--quiet", *extra])
    return code, target


# ----------------------------------------------------------------------------- good rows


def test_one_row_per_case_in_order(toy_model):
    out = score(CASES, toy_model)
    assert len(out) == len(CASES)
    assert out["case_id"].tolist() == ["c1", "c2", "c3", "c4"]
    assert (out["error"] == "").all()
    for column in ["top1", "top1_probability", "top2", "top3", "triage", "red_flags",
                   "p_tendon", "p_tear", "error", "notes"]:
        assert column in out.columns


def test_posteriors_are_those_of_diagnose(toy_model):
    out = score(CASES, toy_model)
    for i, row in CASES.iterrows():
        given = {k: v for k, v in row.items() if k in toy_model.vocabulary.inputs and v != ""}
        result = toy_model.diagnose(given)
        assert out.loc[i, "p_tendon"] == pytest.approx(result.probabilities["tendon"], abs=1e-12)
        assert out.loc[i, "p_tear"] == pytest.approx(result.probabilities["tear"], abs=1e-12)
        assert out.loc[i, "top1"] == result.ranked[0][0]
        assert out.loc[i, "triage"] == result.triage
        assert out.loc[i, "red_flags"] == "; ".join(result.red_flags)


def test_bundled_model_agrees_with_diagnose(model):
    cases = pd.DataFrame({"age_years": [11, 41], "sex": [None, "male"],
                          "jumping_sport": [True, None], "pain_heel_back": ["yes", "yes"],
                          "heel_squeeze_tender": ["yes", ""], "palpable_gap": ["", "yes"]})
    out = score(cases, model)
    assert out.loc[0, "top1"] == "severs_disease"
    gap = model.diagnose({"age_years": 41, "sex": "male", "pain_heel_back": True,
                          "palpable_gap": True})
    assert out.loc[1, "triage"] == gap.triage == "emergency"
    assert out.loc[1, "red_flags"] == "; ".join(gap.red_flags)
    assert [out.loc[1, f"top{k}"] for k in (1, 2, 3)] == [c for c, _ in gap.ranked[:3]]


def test_blank_is_not_asked_not_absent(toy_model):
    cases = pd.DataFrame({"pain": ["", "no", None, np.nan]})
    out = score(cases, toy_model)
    prior = toy_model.diagnose({}).probabilities["tendon"]
    assert out["p_tendon"].tolist()[0] == pytest.approx(prior)
    assert out["p_tendon"].tolist()[2:] == pytest.approx([prior, prior])
    assert out["p_tendon"].tolist()[1] < prior


def test_without_case_id_rows_are_numbered(toy_model):
    out = score(CASES.drop(columns="case_id"), toy_model)
    assert out["case_id"].tolist() == [1, 2, 3, 4]


def test_index_is_kept(toy_model):
    cases = CASES.set_index(pd.Index([10, 5, 7, 1]))
    assert score(cases, toy_model).index.tolist() == [10, 5, 7, 1]


def test_chunk_size_does_not_change_results(toy_model):
    big = pd.concat([CASES] * 7, ignore_index=True)
    pd.testing.assert_frame_equal(score(big, toy_model, chunk_size=3),
                                  score(big, toy_model, chunk_size=1000))


def test_empty_table_gives_empty_output(toy_model):
    out = score(CASES.iloc[:0], toy_model)
    assert len(out) == 0 and "p_tendon" in out.columns


def test_csv_matches_dataframe(tmp_path, toy_model):
    code, target = run_score(tmp_path, CASES.to_csv(index=False), "--chunk-size", "3")
    assert code == 0
    out = read(target)
    expected = score(CASES, toy_model)
    assert out["case_id"].tolist() == expected["case_id"].tolist()
    np.testing.assert_allclose(out["p_tear"].astype(float), expected["p_tear"], rtol=1e-9)
    assert out["top1"].tolist() == expected["top1"].tolist()


def test_notes_and_kept_columns_pass_through_untouched(tmp_path):
    table = CASES.assign(comment=["a,b", "line one\nline two", '"quoted"', ""])
    code, target = run_score(tmp_path, table.to_csv(index=False), "--keep", "comment")
    assert code == 0
    out = read(target)
    assert out["notes"].tolist() == CASES["notes"].tolist()
    assert out["comment"].tolist() == table["comment"].tolist()


def test_trailing_blank_lines_are_not_rows(tmp_path):
    code, target = run_score(tmp_path, "case_id,pain\na,yes\nb,no\n\n\n")
    assert code == 0
    assert read(target)["case_id"].tolist() == ["a", "b"]


def test_byte_order_mark_and_crlf(tmp_path):
    code, target = run_score(tmp_path, "\ufeffcase_id,pain\r\na,yes\r\nb,no\r\n")
    assert code == 0
    assert read(target)["error"].tolist() == ["", ""]


# ----------------------------------------------------------------------------- bad rows

BAD_VALUES = [
    ("pain", "maybe", r"'pain' must be yes/no, true/false or 1/0 (any case), or blank for not asked; got 'maybe'"),
    ("age_years", "250", "'age_years' must be a whole number from 0 to 120; got '250'"),
    ("age_years", "41.5", "'age_years' must be a whole number from 0 to 120; got '41.5'"),
    ("sex", "alien", "'sex' must be 'female' or 'male' (or blank for unknown); got 'alien'"),
    ("expected_condition", "tendonn", "expected_condition: unknown condition 'tendonn'; did you mean 'tendon'?"),
    ("expected_triage", "urgent", "expected_triage must be emergency or see_doctor or self_care; got 'urgent'"),
]


def with_bad(column: str, value: str) -> pd.DataFrame:
    table = CASES.copy()
    if column not in table:
        table[column] = ""
    table.loc[1, column] = value
    return table


@pytest.mark.parametrize(("column", "value", "message"), BAD_VALUES)
def test_bad_value_is_that_rows_error_in_score(toy_model, column, value, message):
    out = score(with_bad(column, value), toy_model)
    assert out.loc[1, "error"] == message
    assert np.isnan(out.loc[1, "p_tendon"]) and out.loc[1, "top1"] == ""
    others = out.drop(index=1)
    assert (others["error"] == "").all() and others["p_tendon"].notna().all()


@pytest.mark.parametrize(("column", "value", "message"), BAD_VALUES)
def test_bad_value_is_that_rows_error_in_the_cli(tmp_path, column, value, message):
    code, target = run_score(tmp_path, with_bad(column, value).to_csv(index=False))
    assert code == 0
    out = read(target)
    assert out["error"].tolist() == ["", message, "", ""]
    assert out.loc[1, "p_tendon"] == "" and out.loc[0, "p_tendon"] != ""


def test_several_problems_in_one_row_are_all_named(toy_model):
    out = score(pd.DataFrame({"pain": ["maybe"], "sex": ["alien"]}), toy_model)
    assert "'pain' must be" in out.loc[0, "error"] and "'sex' must be" in out.loc[0, "error"]


def test_unreadable_bytes_in_a_column_the_model_reads_spoil_only_their_row(tmp_path):
    text = b"case_id,pain,notes\na,yes,fine\nb,y\xe9s,fine\nc,no,fine\n"
    code, target = run_score(tmp_path, text)
    assert code == 0
    out = read(target)
    assert out["case_id"].tolist() == ["a", "b", "c"]
    assert out["error"].tolist()[0] == out["error"].tolist()[2] == ""
    assert out.loc[1, "error"].startswith("line 3: unreadable bytes (not UTF-8) in column 'pain'")


def test_unreadable_bytes_in_free_text_are_replaced_and_flagged_not_fatal(tmp_path, capsys):
    """Issue 14: a latin-1 byte in notes (or a --keep column) blocked scoring its row."""
    text = b"case_id,pain,notes,ward\na,yes,fine,x\nb,yes,caf\xe9 latin-1,\xe9ast\nc,no,fine,y\n"
    code, target = run_score(tmp_path, text, "--keep", "ward")
    assert code == 0
    out = read(target)
    assert out["error"].tolist() == ["", "", ""]
    assert out.loc[1, "notes"] == "caf\ufffd latin-1" and out.loc[1, "ward"] == "\ufffdast"
    assert out.loc[1, "top1"] != ""
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "note: 1 row(s) had bytes that are not UTF-8" in err
    assert "line 3" in err


def test_wrong_number_of_cells_spoils_only_its_row(tmp_path):
    code, target = run_score(tmp_path, "case_id,pain,lump\na,yes,no\nb,yes\nc,no,no,extra\nd,no,no\n")
    assert code == 0
    out = read(target)
    assert out["case_id"].tolist() == ["a", "b", "c", "d"]
    assert out["error"].tolist() == [
        "", "line 3 has 2 cells but the header has 3 columns; the row was not read",
        "line 4 has 4 cells but the header has 3 columns; the row was not read", ""]


# ----------------------------------------------------------------------------- bad tables

TABLE_ERRORS = [
    (["case_id", "pain_heal"], UnknownIdError, r"unknown column 'pain_heal'; did you mean 'pain'"),
    (["case_id", "expected_conditon"], UnknownIdError, r"unknown column 'expected_conditon'; did you mean 'expected_condition'"),
    (["pain", "tear"], UnknownIdError, r"column 'tear' is a condition, not a finding or context item"),
    (["pain", "lump", "pain"], HeelnetError, r"column 'pain' appears more than once"),
]


@pytest.mark.parametrize(("columns", "error", "message"), TABLE_ERRORS)
def test_bad_table_raises_in_score(toy_model, columns, error, message):
    table = pd.DataFrame([["yes"] * len(columns)], columns=columns)
    with pytest.raises(error, match=message):
        score(table, toy_model)


@pytest.mark.parametrize(("columns", "error", "message"), TABLE_ERRORS)
def test_bad_table_is_one_line_in_the_cli(tmp_path, capsys, columns, error, message):
    code, target = run_score(tmp_path, ",".join(columns) + "\n" + ",".join(["yes"] * len(columns)) + "\n")
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: ") and err.count("\n") == 1
    assert pytest.importorskip("re").search(message, err)
    assert not target.exists()


def test_not_a_dataframe(toy_model):
    with pytest.raises(HeelnetError, match=r"cases must be a pandas DataFrame .*got list"):
        score([{"pain": "yes"}], toy_model)  # type: ignore[arg-type]


@pytest.mark.parametrize(("content", "message"), [
    ("", r"is empty: expected a header line and one row per case"),
    ("\n\n", r"is empty"),
    ("case_id,pain\n", r"has a header but no cases"),
    ("case_id,pain,\na,yes,\n", r"column 3 has no name"),
    (b"case_id,p\xe9in\na,yes\n", r"the header line has unreadable bytes"),
])
def test_bad_file_is_one_line(tmp_path, capsys, content, message):
    code, target = run_score(tmp_path, content)
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1
    assert pytest.importorskip("re").search(message, err)
    assert not target.exists()


def test_missing_input(tmp_path, capsys):
    code = main(["score", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "out.csv"),
                 "--priors", TOY, "--quiet"])
    assert code == 1
    assert capsys.readouterr().err == f"error: No such file or directory: '{tmp_path / 'nope.csv'}'\n"


@pytest.mark.parametrize("where", ["missing_folder", "folder"])
def test_unwritable_output(tmp_path, capsys, where):
    source = write(tmp_path / "in.csv", "pain\nyes\n")
    target = tmp_path / "no" / "out.csv" if where == "missing_folder" else tmp_path
    code = main(["score", str(source), "-o", str(target), "--priors", TOY, "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: cannot write") and err.count("\n") == 1


# ----------------------------------------------------------------------------- atomic output


def test_old_output_untouched_when_the_header_is_bad(tmp_path):
    target = write(tmp_path / "out.csv", "old results\n")
    code, _ = run_score(tmp_path, "pian\nyes\n")
    assert code == 1
    assert target.read_text() == "old results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]


def test_old_output_untouched_when_scoring_fails_midway(tmp_path, monkeypatch, capsys):
    target = write(tmp_path / "out.csv", "old results\n")
    calls = []
    original = Model.infer_all

    def failing(self, context, findings):
        calls.append(len(context))
        if len(calls) == 2:
            raise HeelnetError("engine failed on the second chunk")
        return original(self, context, findings)

    monkeypatch.setattr(Model, "infer_all", failing)
    code, _ = run_score(tmp_path, CASES.to_csv(index=False), "--chunk-size", "2")
    assert code == 1
    assert "engine failed on the second chunk" in capsys.readouterr().err
    assert target.read_text() == "old results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]


def test_output_that_is_the_input_is_refused_by_any_path(tmp_path, capsys):
    """Issue 14: -o equal to the input destroyed the input."""
    source = write(tmp_path / "cases.csv", CASES.to_csv(index=False))
    (tmp_path / "link.csv").symlink_to(source)
    (tmp_path / "sub").mkdir()
    for target in (source, tmp_path / "link.csv", tmp_path / "sub" / ".." / "cases.csv"):
        code = main(["score", str(source), "-o", str(target), "--priors", TOY, "--quiet"])
        err = capsys.readouterr().err
        assert code == 1 and err.count("\n") == 1
        assert "it is the input file" in err
    assert source.read_text() == CASES.to_csv(index=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cases.csv", "link.csv", "sub"]


@functools.cache
def toy_model_once() -> Model:
    """The toy model for hypothesis tests (function-scoped fixtures do not mix with @given)."""
    return Model.from_directory(TOY)


VALUES = ["yes", "no", "", "YES", " 0 ", "1", None, True, False, "maybe", "2"]


@given(st.lists(st.tuples(st.sampled_from(VALUES), st.sampled_from(VALUES)), min_size=1, max_size=30),
       st.integers(1, 7))
@settings(max_examples=40, deadline=None)
def test_any_mix_of_good_and_bad_rows(rows, chunk_size):
    toy = toy_model_once()
    table = pd.DataFrame(rows, columns=["pain", "lump"], dtype=object)
    table.insert(0, "case_id", [f"r{i}" for i in range(len(rows))])
    out = score(table, toy, chunk_size=chunk_size)
    assert out["case_id"].tolist() == table["case_id"].tolist()
    bad = table[["pain", "lump"]].isin(["maybe", "2"]).any(axis=1).to_numpy()
    assert ((out["error"] != "").to_numpy() == bad).all()
    assert out.loc[~bad, "p_tendon"].between(0, 1).all()
    assert out.loc[bad, "p_tendon"].isna().all()


def test_pandas_dtypes(toy_model):
    table = pd.DataFrame({
        "pain": pd.array([True, False, None], dtype="boolean"),
        "lump": pd.array(["yes", None, "no"], dtype="string"),
        "age_years": pd.array([40, None, 12], dtype="Int64"),
    })
    out = score(table, toy_model)
    assert (out["error"] == "").all()
    assert out.loc[0, "p_tendon"] == pytest.approx(
        toy_model.diagnose({"pain": True, "lump": True, "age_years": 40}).probabilities["tendon"])


# ----------------------------------------------------------------------------- issue 14


def test_list_cells_are_errors_of_their_row_not_a_type_error(toy_model):
    """Issue 14: score() with list cells gave a raw `TypeError: unhashable`."""
    table = pd.DataFrame({"pain": [["yes"], "yes", {"a": 1}],
                          "expected_condition": ["tendon", ["tear"], "tendon"]})
    out = score(table, toy_model)
    assert out.loc[0, "error"] == "'pain' must be one value, not several; got a list of 1 value"
    assert out.loc[1, "error"] == "expected_condition must be text; got a list or other container"
    assert out.loc[2, "error"].startswith("'pain' must be one value")
    assert out["top1"].tolist() == ["", "", ""]
    assert score(table.iloc[[1]].assign(expected_condition="tendon"), toy_model).loc[1, "error"] == ""


@pytest.mark.parametrize(("columns", "message"), [
    ([0, 1], r"column 1 is named 0 \(of type int\), not a string; .*header line"),
    (pd.MultiIndex.from_tuples([("pain", "a"), ("lump", "b")]),
     r"column 1 is named \('pain', 'a'\): the table has a header of several rows"),
])
def test_int_and_multiindex_column_names_say_what_is_wrong(toy_model, columns, message):
    """Issue 14: int or MultiIndex column names got "stray comma at end of header line?"."""
    with pytest.raises(HeelnetError, match=message):
        score(pd.DataFrame([["yes", "no"]], columns=columns), toy_model)


@pytest.mark.parametrize("size", [0, -1, 2.5, "10"])
def test_bad_chunk_size(toy_model, size):
    """Issue 14: chunk_size 0 or -1 gave raw errors."""
    with pytest.raises(HeelnetError, match=r"The 'chunk_size' parameter of score must be a "
                                           r"whole number in the range \[1, inf\)"):
        score(CASES, toy_model, chunk_size=size)


@pytest.mark.parametrize("size", ["0", "-1"])
def test_bad_chunk_size_in_the_cli_is_one_line(tmp_path, capsys, size):
    code, target = run_score(tmp_path, CASES.to_csv(index=False), "--chunk-size", size)
    err = capsys.readouterr().err
    assert code == 1 and err == f"error: --chunk-size must be 1 or more; got {size}\n"
    assert not target.exists()


def test_score_of_a_dataframe_keeps_memory_flat(toy_model):
    """Issue 14: score(df) held every chunk and then a concatenated copy (1.8 GB peak on 1 M
    rows). Now the output is filled a chunk at a time, so what is used beyond the output
    itself does not grow with the number of rows (Python allocations, counted by
    tracemalloc: allocation sizes, not timing)."""
    import tracemalloc

    rng = np.random.default_rng(0)
    table = pd.DataFrame({"pain": rng.choice(["yes", "no", ""], 40_000),
                          "lump": rng.choice(["yes", "no", ""], 40_000)})
    score(table.iloc[:10], toy_model)
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    extra = {}
    try:
        for n in (10_000, 40_000):
            tracemalloc.reset_peak()
            out = score(table.iloc[:n], toy_model, chunk_size=2000)
            kept, peak = tracemalloc.get_traced_memory()
            assert len(out) == n
            extra[n] = peak - kept
            del out
    finally:
        if not tracing:
            tracemalloc.stop()
    # four times the rows: the memory beyond the output stays about the same
    assert extra[40_000] < 1.5 * extra[10_000] + 200_000, extra


def test_score_of_a_dataframe_shows_progress_on_a_terminal(toy_model, monkeypatch):
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    big = pd.concat([CASES] * 50, ignore_index=True)
    score(big, toy_model, chunk_size=20)
    assert "scoring" in terminal.getvalue() and "/200" in terminal.getvalue()
    monkeypatch.setenv("HEELNET_PROGRESS", "0")
    terminal.seek(0)
    terminal.truncate()
    score(big, toy_model, chunk_size=20)
    assert terminal.getvalue() == ""
