"""The code is a map of the pipeline.

No import cycles, imports follow the layer order, and docs/architecture.md lists
exactly the modules in the tree.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "hotspots"
DOC = ROOT / "docs" / "architecture.md"

#: the documented order: a module may import its own layer or a lower one, never a higher
LAYERS = ["base", "registry", "read", "join/grid", "analyse", "decide", "render", "cli"]

#: edges still to be removed, each with the reason it is there for now (none today)
KNOWN_EDGES: set[tuple[str, str]] = set()


def _modules() -> dict[str, Path]:
    """Dotted names (relative to the package) of every module in the tree."""
    mods = {}
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        mods[".".join(parts) or "__init__"] = path
    return mods


def _doc_layers() -> dict[str, str]:
    """Module → layer from the module table of docs/architecture.md (`| `mod.py` | layer |`)."""
    layers = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\|\s*`([\w/.]+?)(?:\.py|/)?`[^|]*\|\s*([\w/]+)\s*\|", line)
        if m and m.group(2) in LAYERS:
            layers[m.group(1).replace("/", ".")] = m.group(2)
    return layers


def _layer_of(module: str, layers: dict[str, str]) -> str | None:
    while module:
        if module in layers:
            return layers[module]
        module = module.rpartition(".")[0]
    return None


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """Sibling modules `module` imports, at the top or inside functions (lazy imports count)."""
    pkg_parts = module.split(".")[:-1] if path.name != "__init__.py" else module.split(".")
    if module == "__init__":
        pkg_parts = []
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = pkg_parts[: len(pkg_parts) - (node.level - 1)] if node.level > 1 else pkg_parts
            stem = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                cand = f"{stem}.{alias.name}" if stem else alias.name
                found.add(cand if cand in known else stem)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hotspots"):
            stem = node.module.removeprefix("hotspots").lstrip(".")
            for alias in node.names:
                cand = f"{stem}.{alias.name}" if stem else alias.name
                found.add(cand if cand in known else stem)
    return {m for m in found if m in known and m != module}


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {m: {d for d in _imports(m, p, set(mods)) if (m, d) not in KNOWN_EDGES}
            for m, p in mods.items()}


def test_architecture_lists_every_module():
    documented = set(_doc_layers())
    missing = [m for m in _modules() if m != "__init__" and _layer_of(m, _doc_layers()) is None]
    assert not missing, f"modules missing from docs/architecture.md's table: {missing}"
    gone = [m for m in documented if m not in _modules() and not any(
        k.startswith(m + ".") for k in _modules())]
    assert not gone, f"docs/architecture.md lists modules that are not in the tree: {gone}"


def test_no_import_cycle():
    graph = _graph()
    graph.pop("__init__", None)  # the lazy re-export table names everything by design
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_imports_follow_the_layer_order():
    layers = _doc_layers()
    rank = {name: i for i, name in enumerate(LAYERS)}
    wrong = []
    for module, deps in _graph().items():
        if module == "__init__":
            continue
        mine = _layer_of(module, layers)
        for dep in deps:
            theirs = _layer_of(dep, layers)
            if mine and theirs and rank[theirs] > rank[mine]:
                wrong.append(f"{module} ({mine}) imports {dep} ({theirs})")
    assert not wrong, "imports against the documented order:\n" + "\n".join(sorted(wrong))


#: modules and functions still over the limits, each to be split (issue 19)
KNOWN_LONG: set[str] = set()
KNOWN_BIG: set[str] = set()
MAX_FUNCTION_LINES = 120  # lines of code: docstring, comments and blank lines excluded
MAX_MODULE_LINES = 1200
MAX_CLI_MODULE_LINES = 600


def _code_lines(node: ast.AST, lines: list[str]) -> int:
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    seen = set()
    for stmt in body:
        for i in range(stmt.lineno, stmt.end_lineno + 1):
            text = lines[i - 1].strip()
            if text and not text.startswith("#"):
                seen.add(i)
    return len(seen)


def test_functions_and_modules_fit_in_a_head():
    long, big = [], []
    for module, path in _modules().items():
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        limit = MAX_CLI_MODULE_LINES if module.startswith("cli") else MAX_MODULE_LINES
        if len(lines) > limit and module not in KNOWN_BIG:
            big.append(f"{module}: {len(lines)} lines (limit {limit})")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = _code_lines(node, lines)
                if n > MAX_FUNCTION_LINES and f"{module}.{node.name}" not in KNOWN_LONG:
                    long.append(f"{module}.{node.name}: {n} lines of code")
    assert not big, "modules over the limit:\n" + "\n".join(big)
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines of code:\n" + "\n".join(long)
