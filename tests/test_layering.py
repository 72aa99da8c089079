"""The checks of ``tests/layering.py`` catch what they should, on small made-up trees."""

from __future__ import annotations

from pathlib import Path

from tests import layering


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, body in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    return root


def _modules(root: Path) -> dict[str, layering.Module]:
    return {
        name: module for name, module in (
            (".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__"),
             layering.Module(
                 ".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__"),
                 p))
            for p in sorted(root.rglob("*.py")))
    }


def test_a_circle_through_a_function_level_import_is_found(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "rules/__init__.py": '"""r"""\n',
        "rules/a.py": "from rules.b import x\n",
        "rules/b.py": "def f():\n    from rules import a\n",
        "rules/c.py": "import rules.a\n",
    })
    found = layering.circles(layering.import_graph(_modules(root)))
    assert found == [["rules.a", "rules.b"]]


def test_a_type_checking_import_counts_and_a_package_init_joins_the_circle(
        tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "rules/__init__.py": '"""r"""\nfrom rules.outbox import Sender\n',
        "rules/outbox/__init__.py": '"""o"""\nfrom rules.outbox.delivery import Sender\n',
        "rules/outbox/delivery.py": (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from rules.outbox import Other\nclass Sender: ...\n"),
    })
    found = layering.circles(layering.import_graph(_modules(root)))
    assert found == [["rules.outbox", "rules.outbox.delivery"]]


def test_relative_imports_resolve_like_python(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "rules/__init__.py": '"""r"""\n',
        "rules/engine/__init__.py": '"""e"""\nfrom .core import Engine\n',
        "rules/engine/core.py": "from ..store import db\nclass Engine: ...\n",
        "rules/store/__init__.py": '"""s"""\n',
        "rules/store/db.py": "",
    })
    graph = layering.import_graph(_modules(root))
    assert graph["rules.engine"] == {"rules.engine.core"}
    assert graph["rules.engine.core"] == {"rules.store", "rules.store.db"}


def test_a_package_init_run_on_the_way_to_a_submodule_closes_a_circle(tmp_path: Path) -> None:
    # rules.store.outbox needs rules.outbox.contract; Python runs rules/outbox/__init__ first,
    # which imports delivery, which needs rules.store.outbox: a loop at import time.
    root = _tree(tmp_path, {
        "rules/__init__.py": '"""r"""\n',
        "rules/outbox/__init__.py": '"""o"""\nfrom rules.outbox.delivery import Sender\n',
        "rules/outbox/contract.py": "class Note: ...\n",
        "rules/outbox/delivery.py": "from rules.store.outbox import write\nclass Sender: ...\n",
        "rules/store/__init__.py": '"""s"""\n',
        "rules/store/outbox.py": "from rules.outbox.contract import Note\ndef write(): ...\n",
    })
    found = layering.circles(layering.import_graph(_modules(root)))
    assert found == [["rules.outbox", "rules.outbox.delivery", "rules.store.outbox"]]


def test_a_submodule_importing_a_sibling_does_not_loop_through_its_own_package(
        tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "rules/__init__.py": '"""r"""\n',
        "rules/expr/__init__.py": '"""e"""\nfrom rules.expr.compiler import compile\n',
        "rules/expr/compiler.py": "from rules.expr.values import text\ndef compile(): ...\n",
        "rules/expr/values.py": "def text(): ...\n",
    })
    assert layering.circles(layering.import_graph(_modules(root))) == []


def test_sql_run_or_built_outside_an_import_is_found(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"rules/outbox/delivery.py": (
        "import sqlalchemy as alc\nfrom rules.store import outbox_sql as sql\n"
        "def claim(db):\n"
        "    with db.connect() as conn:\n"
        "        conn.execute(sql.DUE)\n"
        "        conn.exec_driver_sql('SELECT 1')\n"
        "    return alc.text('x'), sa.select, sqlalchemy.func\n")})
    (module,) = _modules(root).values()
    assert sorted(layering.sql_uses(module)) == [
        (".exec_driver_sql()", 6), (".execute()", 5), ("alc.text", 7), ("sa.select", 7),
        ("sqlalchemy.func", 7)]


def test_the_shipped_tree_keeps_its_shape() -> None:
    # The same report as `python -m tests.layering`: a new import that breaks a layer, a
    # circle, SQL outside rules/store or a crowded folder fails here with its file and line.
    problems = {title: found for title, found in layering.findings().items() if found}
    assert problems == {}
