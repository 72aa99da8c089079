"""The shape of the shipped code, checked: import circles, layers, SQL, folder sizes.

Run it from the checkout's root to see the findings::

    python -m tests.layering          # exit 0 when the tree keeps its shape, 1 otherwise

``tests/test_layering.py`` runs the same checks in ``make test``. Every ``import`` statement
counts, wherever it is: at module level, inside a function, under ``if TYPE_CHECKING:``. A
module importing ``pkg.sub`` depends on ``pkg.sub`` (and Python runs ``pkg/__init__`` first),
so a submodule that imports its own package's ``__init__`` while that ``__init__`` imports
the submodule is a circle too.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("rules", "webhook", "bot", "scripts")

# (importer prefix, imported prefix): imports the layering forbids. Layers, top down:
# bot/cli, bot/service, bot/demo (composition) > scripts > bot adapters > webhook > rules.
FORBIDDEN = (
    ("rules", "webhook"), ("rules", "bot"), ("rules", "scripts"),
    ("webhook", "bot"), ("webhook", "scripts"),
    ("bot.chat", "bot.service"), ("bot.chat", "bot.cli"), ("bot.chat", "bot.demo"),
    ("bot.realtime", "bot.service"), ("bot.realtime", "bot.cli"), ("bot.realtime", "bot.demo"),
    ("bot.rest", "bot.service"), ("bot.rest", "bot.cli"), ("bot.rest", "bot.demo"),
    ("bot.rest", "bot.chat"), ("bot.rest", "bot.realtime"),
    ("bot.config", "bot.service"), ("bot.config", "bot.cli"), ("bot.config", "bot.chat"),
    ("bot.config", "bot.realtime"), ("bot.config", "bot.rest"),
    ("bot.service", "bot.cli"), ("bot.service", "bot.demo"),
    ("scripts", "bot.cli"), ("scripts", "bot.service"), ("scripts", "bot.demo"),
)
# Names that build SQL: only rules/store may use them.
SQL_NAMES = frozenset({"select", "insert", "update", "delete", "text", "func", "and_", "or_",
                       "not_", "case", "literal", "bindparam", "exists", "union", "join"})
SQL_HOME = "rules.store"
# Calls that run SQL: only rules/store makes them.
SQL_CALLS = frozenset({"execute", "exec_driver_sql", "executemany", "scalar", "scalars"})
# Local names of the sqlalchemy package whose attributes (``sa.select``, ``sqlalchemy.text``)
# build SQL; an ``import sqlalchemy as x`` adds ``x``.
SQL_MODULE_NAMES = frozenset({"sqlalchemy", "sa"})
# (module, what) found outside rules/store that may stay, and why. Empty: nothing needs to.
SQL_ALLOWED: dict[tuple[str, str], str] = {}
MAX_TOP_LEVEL = {"rules": 8, "bot": 5}


@dataclass(frozen=True)
class Module:
    name: str
    path: Path

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"


def shipped_modules(root: Path = ROOT) -> dict[str, Module]:
    found: dict[str, Module] = {}
    for package in SHIPPED:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = Module(".".join(parts), path)
    return found


def _absolute(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.name.split(".")
    if not module.is_package:
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imported_names(module: Module,
                   modules: dict[str, Module] | None = None) -> Iterator[tuple[str, int]]:
    """Every dotted name ``module`` imports (``from a import b`` gives ``a`` and ``a.b``).

    Given the tree's ``modules``, ``from a import b`` where every name is a submodule of ``a``
    gives only ``a.b``: Python then imports the submodule even while ``a/__init__`` is still
    running, so it does not need ``a``'s own names (the package's ``__init__`` still counts as
    run on the way, which :func:`import_graph` adds).
    """
    tree = ast.parse(module.path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, node)
            names = [f"{base}.{alias.name}" for alias in node.names]
            if modules is None or not all(name in modules for name in names):
                yield base, node.lineno
            for name in names:
                yield name, node.lineno


def _owner(name: str, modules: dict[str, Module]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(modules: dict[str, Module]) -> dict[str, set[str]]:
    """Who imports whom. Importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` first,
    so those packages count too, except the importer's own ancestors (already running)."""
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, module in modules.items():
        for imported, _ in imported_names(module, modules):
            owner = _owner(imported, modules)
            if owner is None or owner == name:
                continue
            graph[name].add(owner)  # what is named is needed, even an ancestor's __init__
            parent = _owner(owner.rpartition(".")[0], modules)
            while parent is not None and not _within(name, parent):
                graph[name].add(parent)
                parent = _owner(parent.rpartition(".")[0], modules)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer_violations(modules: dict[str, Module]) -> list[str]:
    problems = []
    for name, module in modules.items():
        for imported, line in imported_names(module):
            where = f"{module.path.relative_to(ROOT)}:{line}"
            if _within(imported, "tests"):
                problems.append(f"{where}: shipped code imports {imported}")
            for low, high in FORBIDDEN:
                if _within(name, low) and _within(imported, high):
                    problems.append(f"{where}: {name} imports {imported} ({low} -> {high})")
    return sorted(set(problems))


def sql_uses(module: Module) -> Iterator[tuple[str, int]]:
    """What in ``module`` builds or runs SQL, with its line: an imported SQL builder
    (``from sqlalchemy import select``), a ``.execute(`` / ``.exec_driver_sql(`` (or
    ``executemany``, ``scalar``, ``scalars``) call, an attribute of the sqlalchemy package
    (``sa.select``, ``sqlalchemy.text``)."""
    for imported, line in imported_names(module):
        head, _, leaf = imported.rpartition(".")
        if _within(head, "sqlalchemy") and leaf in SQL_NAMES:
            yield imported, line
    tree = ast.parse(module.path.read_text(encoding="utf-8"))
    local_names = set(SQL_MODULE_NAMES)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            local_names.update(alias.asname for alias in node.names
                               if alias.asname and _within(alias.name, "sqlalchemy"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in SQL_CALLS:
            yield f".{node.func.attr}()", node.lineno
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id in local_names:
            yield f"{node.value.id}.{node.attr}", node.lineno


def sql_outside_store(modules: dict[str, Module]) -> list[str]:
    problems = []
    for name, module in modules.items():
        if _within(name, SQL_HOME):
            continue
        for what, line in sql_uses(module):
            if (name, what) in SQL_ALLOWED:
                continue
            problems.append(f"{module.path.relative_to(ROOT)}:{line}: {name} builds or runs "
                            f"SQL ({what}); SQL on the store's tables lives in rules/store")
    return sorted(set(problems))


def oversized_folders(root: Path = ROOT) -> list[str]:
    problems = []
    for package, limit in MAX_TOP_LEVEL.items():
        modules = sorted(p.name for p in (root / package).glob("*.py"))
        if len(modules) > limit:
            problems.append(f"{package}/ has {len(modules)} top-level modules (at most "
                            f"{limit}): {', '.join(modules)}")
    return problems


def undocumented_packages(modules: dict[str, Module]) -> list[str]:
    problems = []
    for module in modules.values():
        if not module.is_package:
            continue
        tree = ast.parse(module.path.read_text(encoding="utf-8"))
        if not ast.get_docstring(tree):
            problems.append(f"{module.path.relative_to(ROOT)}: no docstring saying what "
                            "the package is for")
    return problems


def unexported_packages(modules: dict[str, Module]) -> list[str]:
    problems = []
    for module in modules.values():
        if module.is_package and "__all__" not in module.path.read_text(encoding="utf-8"):
            problems.append(f"{module.path.relative_to(ROOT)}: no __all__ naming the "
                            "package's public names")
    return problems


def private_imports(modules: dict[str, Module]) -> list[str]:
    """``from a import _b`` across modules: callers use public names only."""
    problems = []
    for module in modules.values():
        tree = ast.parse(module.path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            base = _absolute(module, node)
            if base.split(".")[0] not in SHIPPED:
                continue
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    problems.append(f"{module.path.relative_to(ROOT)}:{node.lineno}: "
                                    f"{module.name} imports the private {base}.{alias.name}")
    return problems


def findings(root: Path = ROOT) -> dict[str, list[str]]:
    modules = shipped_modules(root)
    return {
        "import circles": [" <-> ".join(c) for c in circles(import_graph(modules))],
        "layering": layer_violations(modules),
        "SQL outside rules/store": sql_outside_store(modules),
        "folder size": oversized_folders(root),
        "package docstrings": undocumented_packages(modules),
        "package exports": unexported_packages(modules),
        "private imports": private_imports(modules),
    }


def main() -> int:
    failed = False
    for title, problems in findings().items():
        print(f"{title}: {'ok' if not problems else f'{len(problems)} problem(s)'}")
        for problem in problems:
            print(f"  {problem}")
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
