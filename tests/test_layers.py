"""The house: layers point one way, no import cycles (lazy imports count), small parts.

Imports are read from the source with :mod:`ast`, including those inside
functions; only ``if TYPE_CHECKING:`` blocks (annotations, never executed) are
left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "model"
#: The core: what diagnose() needs. It never imports the tools built on it.
CORE = {"errors", "vocabulary", "checks", "knowledge", "encoding", "network", "engine", "triage",
        "diagnosis", "result", "uncertainty", "progress"}
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 100


def modules() -> dict[str, Path]:
    """Dotted names below ``model`` (``engine.kernel``, ``cli``...) -> path."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts) or "__init__"] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(name: str, path: Path) -> set[str]:
    """The modules of the package that ``name`` imports, lazily or not."""
    package = name.split(".") if path.name == "__init__.py" and name != "__init__" else \
        name.split(".")[:-1]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names = [f"{target}.{a.name}" if target else a.name for a in node.names]
            found.update(n for n in [target, *names] if n in known)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("model"):
            target = node.module.removeprefix("model").lstrip(".")
            found.add(target or "__init__")
        for child in ast.iter_child_nodes(node):
            visit(child)

    known = set(modules())
    visit(ast.parse(path.read_text(encoding="utf-8")))
    found.discard(name)
    return {f for f in found if f}


def graph() -> dict[str, set[str]]:
    return {name: imports(name, path) for name, path in modules().items()}


def layer(name: str) -> str:
    return name.split(".")[0]


def test_no_import_cycles():
    edges = graph()
    done: set[str] = set()

    def visit(node: str, path: tuple[str, ...]) -> None:
        if node in path:
            cycle = " -> ".join((*path[path.index(node):], node))
            pytest.fail(f"import cycle: {cycle}")
        if node in done:
            return
        for target in sorted(edges.get(node, ())):
            if target != "__init__" and not node.startswith(target + "."):
                visit(target, (*path, node))
        done.add(node)

    for node in edges:
        visit(node, ())


def test_core_never_imports_the_tools():
    for name, targets in graph().items():
        if layer(name) in CORE:
            tools = sorted(t for t in targets if layer(t) not in CORE)
            assert not tools, f"core module {name} imports the tool(s) {tools}"


def test_modules_and_functions_are_small():
    for name, path in modules().items():
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= MAX_MODULE_LINES, f"{name}: over {MAX_MODULE_LINES} lines"
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                assert length <= MAX_FUNCTION_LINES, f"{name}.{node.name}: {length} lines"


def test_the_graph_is_read_right():
    """The reader itself: it sees lazy imports and skips TYPE_CHECKING ones."""
    edges = graph()
    assert "engine.kernel" in edges["engine"]  # imported inside a method
    assert "diagnosis" not in edges["explain"]  # only under TYPE_CHECKING
    assert "diagnosis" in edges["api"] and "scoring" in edges["api"]
    assert "api" not in edges["diagnosis"]
