"""RuleSet: reloads swap rules into the engine; a failed reload keeps what worked."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.clock import ManualClock
from rules.command import MessageCommand
from rules.definitions.rule_set import RuleSet
from rules.engine.rule_engine import RuleEngine
from rules.ingest import Ingestor
from rules.store import Database

ENDPOINTS = ("log",)
GOOD = "rules:\n  - name: {name}\n    condition: \"{condition}\"\n"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "rules.d"
    path.mkdir()
    return path


def names(ruleset: RuleSet) -> list[str]:
    return sorted(r.name for r in ruleset.rules())


def test_reload_swaps_rules_into_the_engine(folder: Path, sqlite_db: Database) -> None:
    engine = RuleEngine(sqlite_db, ManualClock(), endpoints=ENDPOINTS)
    ruleset = RuleSet([folder], endpoints=ENDPOINTS, engine=engine)
    write(folder, "a.yml", GOOD.format(name="a", condition="true"))
    result = ruleset.reload()
    assert result.ok and [r.name for r in engine.rules()] == ["a"]
    write(folder, "b.yml", GOOD.format(name="b", condition="true"))
    (folder / "a.yml").unlink()
    assert ruleset.reload().ok
    assert [r.name for r in engine.rules()] == ["b"] and names(ruleset) == ["b"]


def test_a_broken_rule_keeps_its_previous_version(folder: Path, sqlite_db: Database) -> None:
    clock = ManualClock()
    engine = RuleEngine(sqlite_db, clock, endpoints=ENDPOINTS)
    ruleset = RuleSet([folder], endpoints=ENDPOINTS, engine=engine)
    write(folder, "a.yml", GOOD.format(name="a", condition="true") +
          "  - name: other\n")
    ruleset.reload()
    Ingestor(sqlite_db, engine, clock).accept(MessageCommand(entity="e"), path="api")
    assert [w["rule"] for w in engine.windows()].count("a") == 1
    write(folder, "a.yml", GOOD.format(name="a", condition="count( >") + "  - name: other\n")
    result = ruleset.reload()
    assert result.ok and result.kept == ("a",)
    assert "previous version kept for: a" in result.summary()
    assert [i.field for i in result.issues] == ["condition"]
    assert sorted(r.name for r in engine.rules()) == ["a", "other"]
    compiled = engine.compiled("a")
    assert compiled is not None and compiled.rule.condition == "true"
    # the alert window of the kept rule survived the reload
    assert [w["rule"] for w in engine.windows()].count("a") == 1


def test_imported_series_rules_are_listed_but_not_run(folder: Path, sqlite_db: Database) -> None:
    engine = RuleEngine(sqlite_db, ManualClock(), endpoints=ENDPOINTS)
    ruleset = RuleSet([folder], endpoints=ENDPOINTS, engine=engine)
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "atsd-rules"
    for path in fixtures.glob("*.xml"):
        write(folder, path.name, path.read_text())
    result = ruleset.reload()
    assert result.ok and all(i.level == "warning" for i in result.issues)
    assert names(ruleset) == ["GitHub", "atsd.jvm.low_memory", "outgoing_webhook"]
    assert "atsd.jvm.low_memory" not in {r.name for r in engine.rules()}  # avg() cannot run
    messages = [(i.field, i.message) for i in result.issues if i.rule == "atsd.jvm.low_memory"]
    assert len(messages) == len(set(messages))


def test_an_unreadable_file_keeps_all_its_rules(folder: Path) -> None:
    ruleset = RuleSet([folder], endpoints=ENDPOINTS)
    write(folder, "a.yml", GOOD.format(name="a", condition="true") + "  - name: a2\n")
    ruleset.reload()
    write(folder, "a.yml", "rules: [unclosed\n")
    result = ruleset.reload()
    assert result.ok and sorted(result.kept) == ["a", "a2"] and names(ruleset) == ["a", "a2"]


def test_an_engine_failure_keeps_the_whole_set(folder: Path) -> None:
    class Failing:
        def load(self, rules: object) -> list[object]:
            raise RuntimeError("compiler exploded")

    ruleset = RuleSet([folder], endpoints=ENDPOINTS)
    write(folder, "a.yml", GOOD.format(name="a", condition="true"))
    ruleset.reload()
    ruleset.engine = Failing()
    write(folder, "b.yml", GOOD.format(name="b", condition="true"))
    result = ruleset.reload()
    assert not result.ok and "compiler exploded" in result.summary()
    assert names(ruleset) == ["a"] and ruleset.last() is result


def test_import_writes_into_the_rule_folder_and_reloads(folder: Path,
                                                        sqlite_db: Database) -> None:
    engine = RuleEngine(sqlite_db, ManualClock(), endpoints=ENDPOINTS)
    ruleset = RuleSet([folder], endpoints=ENDPOINTS, engine=engine)
    ruleset.reload()
    data = GOOD.format(name="new", condition="true").encode()
    result = ruleset.import_file("../../etc/My Rules.yml", data)
    assert result.ok and result.path == folder / "My_Rules.yml"
    assert result.path.read_bytes() == data and result.rules == ("new",)
    assert [r.name for r in engine.rules()] == ["new"]
    # the same name again: refused unless replacing; a clash with another file always refused
    assert not ruleset.import_file("My Rules.yml", data).ok
    assert ruleset.import_file("My Rules.yml", data, replace=True).ok
    clash = ruleset.import_file("other.yml", data)
    assert not clash.ok and "already defined in" in clash.issues[-1].message
    assert not (folder / "other.yml").exists()


@pytest.mark.parametrize(("filename", "data", "words"), [
    ("bad.yml", b"rules:\n  - name: x\n    window: length(0)\n", "length must be 1"),
    ("empty.yml", b"rules: []\n", "holds no rules"),
    ("rules.txt", b"rules: []\n", "expected a .yml"),
    ("lol.xml", b'<!DOCTYPE r [<!ENTITY a "aa">]><rules/>', "entity-expansion"),
])
def test_import_refuses_bad_files(folder: Path, filename: str, data: bytes, words: str) -> None:
    ruleset = RuleSet([folder], endpoints=ENDPOINTS)
    result = ruleset.import_file(filename, data)
    assert not result.ok and words in str(result.issues)
    assert list(folder.iterdir()) == []


