"""Reading case files (model/reader.py) through `python -m model score`: every record
becomes exactly one output row, or the whole file is one clear error; never a lost record
or a traceback (issue 14)."""

from __future__ import annotations

import contextlib
import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.cli import main

TOY = str(Path(__file__).parent / "toy_priors")
OLD = "old results\n"


def run(folder: Path, content: bytes | str, *extra: str) -> tuple[int, Path]:
    source = folder / "in.csv"
    source.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    target = folder / "out.csv"
    code = main(["score", str(source), "-o", str(target), "--priors", TOY, "--quiet", *extra])
    return code, target


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


# ----------------------------------------------------------------------------- quotes


def test_an_unterminated_quote_in_free_text_loses_no_row(tmp_path):
    """Issue 14: 2 rows in, 1 out, 0 errors, exit 0."""
    code, target = run(tmp_path, 'case_id,pain,notes\na,yes,"she said it hurts\nb,no,fine\n')
    assert code == 0
    out = read(target)
    assert out["case_id"].tolist() == ["", "b"]
    assert out.loc[0, "error"].startswith("line 2: a quote (\") opens a cell that is never closed")
    assert out.loc[1, "error"] == "" and out.loc[1, "top1"] != ""


def test_a_stray_quote_in_50_rows_loses_no_row(tmp_path):
    """Issue 14: 49 rows in, 1 out."""
    rows = [f"r{i},yes,note {i}" for i in range(49)]
    rows[10] = 'r10,"yes,note 10'
    code, target = run(tmp_path, "case_id,pain,notes\n" + "\n".join(rows) + "\n")
    assert code == 0
    out = read(target)
    assert len(out) == 49
    assert (out["error"] != "").sum() == 1 and out.loc[10, "error"].startswith("line 12: ")
    assert out["case_id"].drop(10).tolist() == [f"r{i}" for i in range(49) if i != 10]


def test_a_stray_quote_in_5000_rows_is_no_traceback(tmp_path, capsys):
    """Issue 14: `_csv.Error: field larger than field limit`, a traceback."""
    rows = [f"r{i},yes,note" for i in range(5000)]
    rows[3] = 'r3,yes,"5\'10'
    code, target = run(tmp_path, "case_id,pain,notes\n" + "\n".join(rows) + "\n")
    assert code == 0 and capsys.readouterr().err == ""
    out = read(target)
    assert len(out) == 5000 and (out["error"] != "").sum() == 1
    assert out.loc[3, "error"].startswith("line 5: a quote")


def test_text_after_a_closing_quote_is_that_rows_error(tmp_path):
    code, target = run(tmp_path, 'case_id,pain,notes\na,yes,"quoted" then text\nb,no,x\n')
    out = read(target)
    assert code == 0 and out["case_id"].tolist() == ["", "b"]
    assert out.loc[0, "error"].startswith("line 2: text follows the closing quote")


def test_a_stray_quote_that_meets_another_quote_later(tmp_path):
    text = 'case_id,pain,notes\na,yes,"open\nb,no,x\nc,yes,"closed"\nd,no,y\n'
    code, target = run(tmp_path, text)
    out = read(target)
    assert code == 0 and out["case_id"].tolist() == ["", "b", "c", "d"]
    assert out.loc[0, "error"].startswith("line 2: ") and (out["error"][1:] == "").all()


def test_quoted_cells_over_several_lines_are_one_record(tmp_path):
    text = 'case_id,pain,notes\na,yes,"line one\nline two, with a comma"\nb,no,"say ""ouch"""\n'
    code, target = run(tmp_path, text)
    out = read(target)
    assert code == 0 and out["case_id"].tolist() == ["a", "b"] and (out["error"] == "").all()
    assert out["notes"].tolist() == ["line one\nline two, with a comma", 'say "ouch"']


def test_a_quote_inside_an_unquoted_cell_is_text(tmp_path):
    code, target = run(tmp_path, "case_id,pain,notes\na,yes,5'10\" tall\n")
    out = read(target)
    assert code == 0 and out.loc[0, "notes"] == "5'10\" tall" and out.loc[0, "error"] == ""


def test_a_cell_over_128_kib_is_read(tmp_path, capsys):
    """Issue 14: a cell over 128 KiB was a traceback (the csv module's field limit)."""
    long = "x" * (200 * 1024)
    code, target = run(tmp_path, f'case_id,pain,notes\na,yes,"{long}"\nb,no,{long}\n')
    assert code == 0 and capsys.readouterr().err == ""
    out = read(target)
    assert (out["error"] == "").all() and out["notes"].str.len().tolist() == [len(long)] * 2
    assert csv.field_size_limit() == 128 * 1024  # restored for everyone else


def test_a_quote_in_the_header_is_one_line(tmp_path, capsys):
    target = tmp_path / "out.csv"
    target.write_text(OLD)
    code, _ = run(tmp_path, 'case_id,"pain\na,yes\n')
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "header line" in err
    assert target.read_text() == OLD


# ----------------------------------------------------------------------------- what Excel and pandas write


@pytest.mark.parametrize(("separator", "word"), [(";", "semicolons"), ("\t", "tabs")])
def test_semicolon_or_tab_separated_files_get_a_hint(tmp_path, capsys, separator, word):
    code, target = run(tmp_path, separator.join(["case_id", "pain", "lump"]) + "\n"
                       + separator.join(["a", "yes", "no"]) + "\n")
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert f"the header looks separated by {word}" in err and "Comma delimited" in err
    assert not target.exists()


def test_floats_that_pandas_writes_for_integer_columns_with_blanks(tmp_path, toy_model):
    """Issue 14: 1.0/0.0 booleans (pandas writes them for 0/1 columns with blanks) failed on
    every row, with exit 0, while the API accepted 1.0."""
    cases = pd.DataFrame({"case_id": ["a", "b", "c"], "age_years": [41, np.nan, 12],
                          "runner": [1, 0, np.nan], "pain": [1, np.nan, 0],
                          "lump": [0, 1, 1]})
    text = cases.to_csv(index=False)
    assert "1.0" in text and "41.0" in text  # what pandas really writes
    code, target = run(tmp_path, text)
    out = read(target)
    assert code == 0 and (out["error"] == "").all()
    expected = toy_model.diagnose({"age_years": 41, "runner": True, "pain": True, "lump": False})
    assert float(out.loc[0, "p_tendon"]) == pytest.approx(expected.probabilities["tendon"])


def test_excel_bom_crlf_and_latin1_notes(tmp_path):
    text = "\ufeffcase_id,pain,notes\r\na,yes,fine\r\n".encode() + b"b,no,caf\xe9\r\n"
    code, target = run(tmp_path, text)
    out = read(target)
    assert code == 0 and out["case_id"].tolist() == ["a", "b"] and (out["error"] == "").all()


# ----------------------------------------------------------------------------- properties

CELL = st.text(st.sampled_from('ab ,"\n\r\t;é\x00'), max_size=8)
VALUE = st.sampled_from(["yes", "no", "", "1.0", "maybe", '"', "Yes "])


@given(rows=st.lists(st.tuples(VALUE, VALUE, CELL), min_size=1, max_size=12))
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_well_quoted_file_gives_one_row_per_record(tmp_path, rows):
    """Whatever the cells hold (quotes, commas, line breaks, NULs), a file written by a CSV
    writer gives exactly one output row per record, in order."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # RFC 4180, as Excel and pandas write: \r\n, quoted as needed
    writer.writerow(["case_id", "pain", "lump", "notes"])
    ids = [f"r{i}" for i in range(len(rows))]
    writer.writerows([case_id, *row] for case_id, row in zip(ids, rows))
    code, target = run(tmp_path, buffer.getvalue())
    assert code == 0
    with open(target, encoding="utf-8", newline="") as handle:
        out = list(csv.DictReader(handle))
    assert [row["case_id"] for row in out] == ids
    assert [row["notes"] for row in out] == [notes for *_, notes in rows]


@given(body=st.binary(max_size=300), with_header=st.booleans())
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_bytes_give_rows_or_one_clear_error(tmp_path, body, with_header):
    """Arbitrary bytes: either one stderr line and a non-zero exit with the old output
    intact, or one output row per record (per non-blank line when there is no quote);
    never a traceback."""
    for path in tmp_path.iterdir():
        path.unlink()
    target = tmp_path / "out.csv"
    target.write_text(OLD)
    content = (b"case_id,pain,notes\n" if with_header else b"") + body
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
        code, _ = run(tmp_path, content)
    err = errors.getvalue()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]
    if code != 0:
        assert code == 1 and err.startswith("error: ") and err.count("\n") == 1
        assert target.read_text() == OLD
        return
    out = read(target)
    text = content.decode("utf-8", "surrogateescape").removeprefix("\ufeff")
    lines = [line for line in re.split(r"\r\n|\r|\n", text) if line.strip() or "," in line]
    assert 1 <= len(out) <= len(lines) - 1
    if with_header and '"' not in text:
        assert len(out) == len(lines) - 1


SIMPLE = st.text(st.sampled_from("ab é"), min_size=1, max_size=6)


@given(rows=st.lists(st.tuples(st.sampled_from(["yes", "no", ""]), SIMPLE), min_size=2,
                     max_size=15),
       where=st.integers(0, 10_000), at=st.integers(0, 10_000))
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_stray_quote_damages_only_its_own_record(tmp_path, rows, where, at):
    """One quote typed anywhere in one record: still one output row per record, and every
    other record read as it was (before issue 14 a stray quote swallowed the rest)."""
    ids = [f"r{i}" for i in range(len(rows))]
    lines = [f"{case_id},{pain},{notes}" for case_id, (pain, notes) in zip(ids, rows)]
    damaged = where % len(lines)
    line = lines[damaged]
    position = at % (len(line) + 1)
    lines[damaged] = line[:position] + '"' + line[position:]
    code, target = run(tmp_path, "case_id,pain,notes\n" + "\n".join(lines) + "\n")
    assert code == 0
    with open(target, encoding="utf-8", newline="") as handle:
        out = list(csv.DictReader(handle))
    assert len(out) == len(rows)
    for i, row in enumerate(out):
        if i != damaged:
            assert (row["case_id"], row["notes"], row["error"]) == (ids[i], rows[i][1], "")
        elif "quote" in row["error"]:
            assert row["error"].startswith(f"line {i + 2}: ")
