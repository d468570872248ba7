"""export_network: files other tools read back into the same network."""

from __future__ import annotations

import itertools
import os
import shutil

import numpy as np
import pytest
from pgmpy.inference import VariableElimination
from pgmpy.readwrite import BIFReader, XDSLReader, XMLBIFReader

from model.export import FORMATS, export_network, exported_network

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
    original = exported_network(model)
    assert set(model.network().nodes) <= set(original.nodes)
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
    net = exported_network(model)
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
    with pytest.raises(ValueError, match=r"The 'fmt' parameter of export_network must be one of 'bif', 'xmlbif', 'xdsl'; got 'json'"):
        export_network(toy_model, "json", tmp_path / "toy.json")


# pyAgrum reads BIF numbers in single precision (differences ~1e-8), XML-BIF in full.
AGRUM_TOLERANCE = {"bif": 1e-6, "xmlbif": 1e-9}

# The dyspnoea table of Lauritzen & Spiegelhalter's Asia network (J R Stat Soc B 1988)
# exactly as GeNIe 5.0 saved it (pgmpy's test data AsiaDiagnosis.xdsl); the other nodes
# are cut to what the table needs. The published numbers: P(dyspnoea | either, bronchitis)
# = 0.9, 0.7 (bronchitis absent), 0.8 (either absent), 0.1 (both absent).
GENIE_ASIA = """<?xml version="1.0" encoding="UTF-8"?>
<smile version="1.0" id="Asia" numsamples="10000" discsamples="10000">
<nodes>
<cpt id="either"><state id="Nothing" /><state id="CancerORTuberculosis" />
<probabilities>0.5 0.5</probabilities></cpt>
<cpt id="bronc"><state id="Absent" /><state id="Present" />
<probabilities>0.5 0.5</probabilities></cpt>
<cpt id="dysp"><state id="Absent" /><state id="Present" /><parents>either bronc</parents>
<probabilities>0.9 0.1 0.2 0.8 0.3 0.7 0.1 0.9</probabilities></cpt>
</nodes>
<extensions><genie version="1.0" app="GeNIe 5.0.4830.2 EVALUATION" name="Asia" /></extensions>
</smile>
"""


def test_genie_lists_parent_configurations_last_parent_fastest(tmp_path):
    """GeNIe's layout, read by pgmpy, gives the published numbers: (either absent,
    bronchitis present) is the second configuration, so the last parent varies fastest."""
    path = tmp_path / "asia.xdsl"
    path.write_text(GENIE_ASIA)
    cpd = XDSLReader(str(path)).get_model().get_cpds("dysp")
    present = {(e, b): cpd.get_value(dysp="Present", either=e, bronc=b)
               for e in ("Nothing", "CancerORTuberculosis") for b in ("Absent", "Present")}
    assert present == {("Nothing", "Absent"): 0.1, ("Nothing", "Present"): 0.8,
                       ("CancerORTuberculosis", "Absent"): 0.7,
                       ("CancerORTuberculosis", "Present"): 0.9}


def test_exported_xdsl_lists_the_last_parent_fastest(toy_model, tmp_path):
    """Our file follows GeNIe's layout: the 'tear' table's rows in the order of its parents
    (tendon, sex), the last varying fastest."""
    import xml.etree.ElementTree as ET

    path = export_network(toy_model, "xdsl", tmp_path / "toy.xdsl")
    node = next(c for c in ET.parse(path).getroot().iter("cpt") if c.get("id") == "tear")
    parents = node.find("parents").text.split()
    values = [float(v) for v in node.find("probabilities").text.split()]
    cpd = toy_model.network().get_cpds("tear")
    expected = []
    for combo in itertools.product(*(cpd.state_names[p] for p in parents)):
        for state in cpd.state_names["tear"]:
            expected.append(cpd.get_value(tear=state, **dict(zip(parents, combo))))
    np.testing.assert_allclose(values, expected, rtol=0, atol=1e-15)


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


@pytest.mark.parametrize("fmt", ["bif", "xmlbif"])  # pyAgrum misreads XDSL (see export.py)
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
