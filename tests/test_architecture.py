"""The shape of the code: which module may import which, and how long a module may grow.

The layers run one way: views (the api/ packages) -> wire -> services -> matching and models.
Read from the source (ast), so a rule broken anywhere fails here, without importing anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("config", "injectionlogs", "leads", "lists_hopper", "settings_global")
MAX_LINES = 650


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                found[_module_name(path)] = path
    return found


MODULES = _modules()


def _imports(name: str) -> set[str]:
    """The project modules a module imports, at any depth of its body (functions included)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            # The longest project module the import names (a name imported from a module is
            # the module itself).
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


GRAPH = {name: _imports(name) for name in MODULES}


def _is_api(name: str) -> bool:
    return "api" in name.split(".")[1:-1] or name.split(".")[1:] == ["api"]


def test_the_graph_sees_the_project():
    assert "leads.services" in GRAPH
    assert "leads.matching" in GRAPH["leads.services"]


def test_no_import_cycle():
    # Tarjan's strongly connected components: any component of two or more modules is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in GRAPH[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    assert cycles == []


def test_only_views_urls_and_app_wiring_import_the_api_packages():
    offenders = {
        name: sorted(target for target in targets if _is_api(target))
        for name, targets in GRAPH.items()
        if not _is_api(name)
        and not name.endswith((".urls", ".apps"))
        and name not in ("config.urls", "config.wsgi")
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_matching_imports_no_model_http_or_drf_module():
    path = MODULES["leads.matching"]
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    forbidden = {
        name
        for name in imported
        if name.startswith(("django", "rest_framework", "drf_spectacular"))
        or name.endswith(".models")
        or name in GRAPH
        and any(t.endswith(".models") for t in GRAPH[name])
    }
    assert forbidden == set()


def test_the_shared_vocabulary_is_plain_python():
    for name in ("leads.vocabulary", "leads.errors"):
        imported = {
            alias.name if isinstance(node, ast.Import) else node.module or ""
            for node in ast.walk(ast.parse(MODULES[name].read_text()))
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        assert not {m for m in imported if m.startswith(("django", "rest_framework"))}
        assert GRAPH[name] <= {"leads.vocabulary"}


def test_leads_imports_nothing_from_lists_hopper():
    found = {
        name: sorted(t for t in targets if t.startswith("lists_hopper"))
        for name, targets in GRAPH.items()
        if name.startswith("leads")
    }
    assert {name: targets for name, targets in found.items() if targets} == {}


def test_no_module_passes_the_size_limit():
    long = {
        name: lines
        for name, path in MODULES.items()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
