"""Write the network to files other Bayesian-network tools open.

Three formats, all through pgmpy's own writers (``pgmpy.readwrite``):

========  ===========================================  =============================
``fmt``   format and tools                             precision of the numbers
========  ===========================================  =============================
bif       BIF (Interchange Format): bnlearn, pyAgrum,   full (``repr`` of each float)
          Hugin/Netica converters, pgmpy ``BIFReader``
xmlbif    XML-BIF: pgmpy ``XMLBIFReader``, pyAgrum      full (``repr`` of each float)
          (as ``.bifxml``), Weka, SamIam
xdsl      XDSL: GeNIe / SMILE                           16 decimals (absolute 1e-16;
                                                       about 10 significant digits for
                                                       the smallest numbers, ~1e-6)
========  ===========================================  =============================

**XDSL and pyAgrum.** In an XDSL ``<probabilities>`` list the parent
configurations come with the *last* parent varying fastest: that is how GeNIe 5.0
saved Lauritzen and Spiegelhalter's Asia network, whose published dyspnoea table
it reproduces only when read that way (``tests/test_export.py`` checks both that
file and ours). pgmpy reads and writes that layout. pyAgrum 3.3 reads XDSL with the
*first* parent fastest, so it gets every multi-parent table of a GeNIe file (or of
ours) wrong; give pyAgrum the BIF or XML-BIF file instead.

Nodes are written parents first (topological order), which GeNIe needs; node
names are the vocabulary ids and boolean states are ``no`` / ``yes``, so a file
read back answers the same queries as :meth:`model.Model.network`. A finding with
more than :data:`WIDEST` causes is written as a chain of two-parent ORs through
auxiliary nodes (``swelling__or1``...; see :meth:`model.network.NetworkTables.chain`):
the same distribution, where its full table would hold 2^(causes + 1) numbers
(about 16 million for ``no_improvement_3_days``). The node
positions pgmpy puts in XDSL files are drawn from a fixed seed, so the same
model always writes the same file. Files are written atomically: to a temporary
file in the target folder, then moved into place with :func:`os.replace`, so a
reader never sees half a file.
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from .checks import Options, check_parameter
from .files import write_atomic

if TYPE_CHECKING:  # pgmpy is imported when a file is written, not with the package
    from pgmpy.models import DiscreteBayesianNetwork

    from .diagnosis import ModelCore

__all__ = ["FORMATS", "WIDEST", "export_network", "exported_network"]

#: Findings with more causes than this are exported as chains of two-parent ORs.
WIDEST = 12

#: The formats :func:`export_network` writes, with their usual file extension.
FORMATS: dict[str, str] = {"bif": ".bif", "xmlbif": ".xml", "xdsl": ".xdsl"}


def _parents_first(net: DiscreteBayesianNetwork) -> DiscreteBayesianNetwork:
    """A copy of ``net`` whose nodes iterate in topological order."""
    import networkx as nx
    from pgmpy.models import DiscreteBayesianNetwork

    out = DiscreteBayesianNetwork()
    order = list(nx.lexicographical_topological_sort(net))
    out.add_nodes_from((n, dict(net.nodes[n])) for n in order)
    out.add_edges_from(net.edges())
    out.add_cpds(*(net.get_cpds(n) for n in order))
    out.name = "heelnet"
    return out


def _render(net: DiscreteBayesianNetwork, fmt: str) -> bytes:
    from pgmpy.readwrite import BIFWriter, XDSLWriter, XMLBIFWriter

    if fmt == "bif":
        return str(BIFWriter(net)).encode("utf-8")
    if fmt == "xmlbif":
        return str(XMLBIFWriter(net)).encode("utf-8")
    state = random.getstate()  # XDSLWriter draws node positions from `random`
    try:
        random.seed(0)
        writer = XDSLWriter(net, network_id="heelnet")
    finally:
        random.setstate(state)
    with tempfile.TemporaryDirectory() as scratch:  # its write() is the only serialiser
        target = Path(scratch) / "network.xdsl"
        writer.write(str(target))
        return target.read_bytes()


def exported_network(model: ModelCore) -> DiscreteBayesianNetwork:
    """The network as it is exported: findings with more than :data:`WIDEST` causes
    chained (:meth:`~model.network.NetworkTables.to_pgmpy`), the rest full tables."""
    return model.tables.to_pgmpy(compact=True, chain_above=WIDEST)


def export_network(model: ModelCore, fmt: str, path: str | os.PathLike[str], *,
                   force: bool = False) -> Path:
    """Write ``model``'s network to ``path`` in format ``fmt``.

    Parameters
    ----------
    model : ModelCore
        The model whose network to write (``Model.default()`` for the bundled one).
    fmt : {"bif", "xmlbif", "xdsl"}
        The file format; see the module docstring for which tools read each.
    path : path-like
        The file to write (see :func:`model.files.write_atomic`): its folder must
        exist; an existing file is replaced atomically, a link's target likewise,
        ``-`` is standard output.
    force : bool
        Replace the file even if it is read-only.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    ValueError
        If ``fmt`` is not one of the formats above.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from model import Model
    >>> from pgmpy.readwrite import XMLBIFReader
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> written = export_network(Model.default(), "xmlbif", folder / "heelnet.xml")
    >>> net = XMLBIFReader(str(written)).get_model()
    >>> net.get_cpds("sex").state_names["sex"]
    ['female', 'male']
    """
    check_parameter("export_network", "fmt", fmt, Options(FORMATS))
    target = Path(path)
    text = _render(_parents_first(exported_network(model)), fmt).decode("utf-8")
    write_atomic(target, lambda handle: handle.write(text), force=force)
    return target
