"""The layout is the architecture: packages depend one way, from the CLI down to Git, and no
module imports another that imports it back (import cycles hide which part owns a concept)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tooling" / "memkb"

# Lower layers first. A package may import its own modules, the foundations and any package
# listed before it, never one after it (imports inside functions included: a lazy import
# hides a dependency from start-up, not from the design).
LAYERS: tuple[str, ...] = (
    "_version",
    "errors",
    "findings",
    "limits",
    "cachefile",
    "startup",
    "gitio",
    "kb",
    "records",
    "rules",
    "metrics",
    "history",
    "advice",
    "search",
    "validation",
    "write",
    "legacy",
    "report",
    "server",
    "cli",
)


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def imports_of(path: Path, *, top_level_only: bool) -> set[str]:
    """memkb modules `path` imports: at module level only, or anywhere (inside functions and
    TYPE_CHECKING blocks too)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):  # type-only imports still tie the design together
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.test = ast.Constant(True)
    nodes: list[ast.AST] = list(tree.body) if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("memkb"):
            folder = PACKAGE.parent / node.module.replace(".", "/")
            submodules = {
                a.name
                for a in node.names
                if (folder / f"{a.name}.py").exists() or (folder / a.name).is_dir()
            }
            found.update(f"{node.module}.{name}" for name in submodules)
            if len(submodules) < len(node.names):  # names defined in the module itself
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("memkb"))
    return found


def graph(*, top_level_only: bool) -> dict[str, set[str]]:
    return {
        module_name(path): imports_of(path, top_level_only=top_level_only)
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def test_the_public_api_resolves() -> None:
    import memkb

    assert set(memkb.__all__) == {"__version__", *memkb._API}
    for name in memkb.__all__:
        assert getattr(memkb, name) is not None, name


def test_importing_memkb_loads_no_heavy_module() -> None:
    code = (
        "import sys, memkb; heavy = {'git', 'jsonschema', 'ruamel', 'yaml', 'typer'}; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def layer_of(module: str) -> str:
    return module.split(".")[1] if "." in module else "__init__"


def test_no_import_cycle() -> None:
    edges = graph(top_level_only=False)
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        for nxt in sorted(edges.get(node, ())):
            if nxt in stack:
                cycles.append(" -> ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt in edges and nxt not in done:
                visit(nxt, [*stack, nxt])
        done.add(node)

    done: set[str] = set()
    for start in sorted(edges):
        if start not in done:
            visit(start, [start])
    assert cycles == [], "\n".join(cycles)


@pytest.mark.parametrize("module", sorted(graph(top_level_only=False)))
def test_packages_only_import_downwards(module: str) -> None:
    own = layer_of(module)
    if own == "__init__":
        return  # the public API re-exports from every layer
    rank = LAYERS.index(own)
    upward = sorted(
        imported
        for imported in graph(top_level_only=False)[module]
        if layer_of(imported) in LAYERS and LAYERS.index(layer_of(imported)) > rank
    )
    assert upward == [], f"{module} imports from a higher layer"
