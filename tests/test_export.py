"""export_network: files other tools read back into the same network."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from pgmpy.inference import VariableElimination
from pgmpy.readwrite import BIFReader, XDSLReader, XMLBIFReader

from model.export import FORMATS, export_network

READERS = {"bif": BIFReader, "xmlbif": XMLBIFReader, "xdsl": XDSLReader}
# file extensions pyAgrum recognises for the same formats
AGRUM_EXT = {"bif": ".bif", "xmlbif": ".bifxml", "xdsl": ".xdsl"}

CASES = [
    {"age_years": 12, "runner": True, "pain": True},
    {"sex": "male", "pain": True, "lump": False},
    {"age_years": 40, "sex": "female", "runner": False, "lump": True},
    {},
]


def posteriors_from(net, model, cases) -> np.ndarray:
    ve = VariableElimination(net)
    out = np.empty((len(cases), len(model.conditions)))
    for i, case in enumerate(cases):
        ev = model.evidence(case)
        q = ve.query(list(model.conditions), evidence=ev, joint=False, show_progress=False)
        for j, c in enumerate(model.conditions):
            out[i, j] = q[c].values[q[c].state_names[c].index("yes")]
    return out


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_round_trip_gives_the_same_posteriors(toy_model, tmp_path, fmt):
    path = export_network(toy_model, fmt, tmp_path / f"toy{FORMATS[fmt]}")
    net = READERS[fmt](str(path)).get_model()
    assert set(net.nodes) == set(toy_model.network().nodes)
    assert set(net.edges) == set(toy_model.network().edges)
    cases = [toy_model.vocabulary.validate(c) for c in CASES]
    expected = toy_model.posteriors(cases)
    np.testing.assert_allclose(posteriors_from(net, toy_model, cases), expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("fmt", ["xmlbif", "xdsl"])
def test_real_network_tables_survive_the_round_trip(model, tmp_path, fmt):
    # (BIF is checked on the toy only: pgmpy's BIF parser takes ~15 s on the full network.)
    path = export_network(model, fmt, tmp_path / f"heelnet{FORMATS[fmt]}")
    back = READERS[fmt](str(path)).get_model()
    original = model.network()
    worst = 0.0
    for cpd in original.get_cpds():
        read = back.get_cpds(cpd.variable)
        assert read.variables == cpd.variables
        assert read.state_names == cpd.state_names
        worst = max(worst, float(np.abs(read.get_values() - cpd.get_values()).max()))
    assert worst < 1e-15


def test_nodes_are_written_parents_first(model, tmp_path):
    path = export_network(model, "xdsl", tmp_path / "heelnet.xdsl")
    text = path.read_text()
    net = model.network()
    position = {n: text.index(f'<cpt id="{n}"') for n in net.nodes}
    assert all(position[a] < position[b] for a, b in net.edges)


def test_same_model_writes_the_same_bytes(toy_model, tmp_path):
    first = export_network(toy_model, "xdsl", tmp_path / "a.xdsl").read_bytes()
    second = export_network(toy_model, "xdsl", tmp_path / "b.xdsl").read_bytes()
    assert first == second


def test_replaces_an_existing_file_and_leaves_no_temporary(toy_model, tmp_path):
    target = tmp_path / "toy.bif"
    target.write_text("old contents")
    export_network(toy_model, "bif", target)
    assert target.read_text().startswith("network heelnet")
    assert os.listdir(tmp_path) == ["toy.bif"]


def test_unknown_format_is_named(toy_model, tmp_path):
    with pytest.raises(ValueError, match=r"'fmt' .* must be one of bif, xmlbif, xdsl; got 'json'"):
        export_network(toy_model, "json", tmp_path / "toy.json")


# pyAgrum reads BIF numbers in single precision (differences ~1e-8), XML-BIF in full.
AGRUM_TOLERANCE = {"bif": 1e-6, "xmlbif": 1e-9, "xdsl": 1e-9}
XDSL_ORDER = pytest.mark.xfail(
    strict=True,
    reason="pyAgrum 3.3 and pgmpy 1.1.2 disagree on the order of parent configurations in "
    "XDSL <probabilities> (each reads its own files back correctly); which one GeNIe "
    "follows is unchecked here",
)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_pyagrum_opens_the_files(toy_model, tmp_path, fmt):
    gum = pytest.importorskip("pyagrum")
    bn = gum.loadBN(
        str(_for_agrum(export_network(toy_model, fmt, tmp_path / f"toy{FORMATS[fmt]}"), fmt))
    )
    assert set(bn.names()) == set(toy_model.network().nodes)
    assert {(bn.variable(a).name(), bn.variable(b).name()) for a, b in bn.arcs()} == set(
        toy_model.network().edges
    )


@pytest.mark.parametrize("fmt", ["bif", "xmlbif", pytest.param("xdsl", marks=XDSL_ORDER)])
def test_pyagrum_gives_the_same_posteriors(toy_model, tmp_path, fmt):
    gum = pytest.importorskip("pyagrum")
    bn = gum.loadBN(
        str(_for_agrum(export_network(toy_model, fmt, tmp_path / f"toy{FORMATS[fmt]}"), fmt))
    )
    ie = gum.LazyPropagation(bn)
    ie.setEvidence({"pain": "yes", "sex": "male"})
    ie.makeInference()
    case = toy_model.vocabulary.validate({"pain": True, "sex": "male"})
    expected = toy_model.posteriors([case])[0]
    got = [ie.posterior(c)[{c: "yes"}] for c in toy_model.conditions]
    np.testing.assert_allclose(got, expected, rtol=0, atol=AGRUM_TOLERANCE[fmt])


def _for_agrum(path, fmt):
    """pyAgrum picks the parser by extension: XML-BIF must be called .bifxml."""
    renamed = path.with_suffix(AGRUM_EXT[fmt])
    if renamed != path:
        shutil.copy(path, renamed)
    return renamed
