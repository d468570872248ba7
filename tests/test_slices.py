"""Cutting a CSV file into slices of whole records for Dask workers: parsed slice by
slice, the rows and messages are exactly those of the whole file."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from model.files import read_csv
from model.slices import parse_slice, slices

HEADER = ["a", "b", "c"]


def whole(path):
    rows = read_csv(path, 10**6)
    parts = list(rows)
    if not parts:
        return pd.DataFrame(columns=rows.header, dtype=object), np.zeros(0, dtype=object)
    return parts[0]


def sliced(path, size):
    cut = slices(path, size, HEADER)
    assert cut is not None
    parts = [parse_slice(cut.head, body, first) for body, first in cut]
    frames = [f for f, _ in parts if len(f)]
    frame = (pd.concat(frames, ignore_index=True) if frames
             else pd.DataFrame(columns=HEADER, dtype=object))
    return frame, np.concatenate([e for _, e in parts]) if parts else np.zeros(0, object)


cell = st.lists(st.sampled_from(['x', 'é', ' ', ',', '\n', '\r\n', '\r', '\xff', '\t']),
                max_size=4).map("".join)
line = st.lists(cell, min_size=0, max_size=4).map(",".join)


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(line, max_size=12), size=st.integers(1, 4),
       ending=st.sampled_from(["\n", "\r\n"]))
def test_slices_parse_like_the_whole_file(tmp_path_factory, lines, size, ending):
    path = tmp_path_factory.mktemp("csv") / "cases.csv"
    text = ",".join(HEADER) + ending + ending.join(lines) + (ending if lines else "")
    path.write_bytes(text.encode("utf-8", "surrogateescape").replace("\xff".encode(), b"\xff"))
    expected_frame, expected_errors = whole(path)
    frame, errors = sliced(path, size)
    pd.testing.assert_frame_equal(frame.reset_index(drop=True),
                                  expected_frame.reset_index(drop=True), check_dtype=False,
                                  check_index_type=False)
    assert errors.tolist() == expected_errors.tolist()


def test_line_numbers_are_those_of_the_whole_file(tmp_path):
    path = tmp_path / "cases.csv"
    path.write_text("\n\na,b,c\n1,2,3\n4,5\n6,7,8\n9\n", encoding="utf-8")
    _, errors = sliced(path, 2)
    assert [e.split(" has")[0] for e in errors if e] == ["line 5", "line 7"]


def test_a_file_with_a_quote_is_left_to_the_client(tmp_path):
    path = tmp_path / "cases.csv"
    path.write_text('a,b,c\n1,"2",3\n', encoding="utf-8")
    assert slices(path, 10, HEADER) is None


def test_a_header_it_cannot_cut_is_left_to_the_client(tmp_path):
    path = tmp_path / "cases.csv"
    path.write_text(' \t\na,b\n1,2\n', encoding="utf-8")  # not the expected header
    assert slices(path, 10, HEADER) is None
