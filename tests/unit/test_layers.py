"""The package floors, read from the source: the engine (corpus/) never imports the stage adapters (filters/)
or the `make models` trainers (training/), no module imports one that imports it back, and the Ray calls
live in one module."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("corpus", "filters", "training")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """module -> project modules it imports (at module level or inside functions)."""
    modules = {module_name(p): p for pkg in PACKAGES if (ROOT / pkg).is_dir() for p in (ROOT / pkg).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(pkg.split(".")[: len(pkg.split(".")) - node.level + 1] + ([base] if base else []))
                # `from pkg import sub` depends on the submodule; `from pkg import name` on the package
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            found |= {t for t in targets if t in modules and t != name}
        graph[name] = found
    return graph


def test_engine_never_imports_adapters_or_trainers():
    bad = [(m, t) for m, ts in imports().items() if m.startswith("corpus") for t in ts if t.startswith(("filters", "training"))]
    bad += [(m, t) for m, ts in imports().items() if m.startswith("filters") for t in ts if t.startswith("training")]
    assert not bad, bad


def test_no_import_circles():
    graph = imports()
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_ray_is_imported_in_one_module_only():
    users = sorted(module_name(p) for pkg in ("corpus", "filters") for p in (ROOT / pkg).rglob("*.py")
                   if any(isinstance(n, (ast.Import, ast.ImportFrom)) and "ray" in
                          ([a.name.split(".")[0] for a in n.names] if isinstance(n, ast.Import) else [(n.module or "").split(".")[0]])
                          for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))))
    assert users == ["corpus.ray_exec"], users
