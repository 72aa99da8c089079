"""docs/configuration.md's key tables, generated from the settings code.

Each section of the configuration has a table in the page with one row per key: its type, its
default and its environment variable come from the settings dataclasses and the loader's
defaults (the code); how a change takes effect and what the key does are written by hand and
kept. ``tests/packaging/test_docs.py`` fails when the page differs from what this module
generates; to bring the page up to date after adding or changing a setting::

    python -m tests.packaging.config_reference --write   # then describe any new key

New keys get the placeholder ``TODO`` in their hand-written columns, which the test refuses.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import (
    ENV_PREFIX,
    build_settings,
    load_settings,  # noqa: F401 - test_examples reads it from here
    schema,
)

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "configuration.md"
HEADER = ("| key | type | default | environment variable | takes effect | meaning |\n"
          "|---|---|---|---|---|---|")
TODO = "TODO"
# the words the page uses for bot.config.schema's kinds
DOC_TYPES = {"text": "string", "integer": "integer", "number": "number", "boolean": "boolean",
             "list": "list of strings", "table": "table of strings"}
_ROW = re.compile(r"^\| `(?P<key>[a-z_]+)` \|(?P<cells>.*)\|\s*$")
_HEADING = re.compile(r"^## (?P<name>\[\[?[a-z_.A-Z]+\]?\])\s*$")


@dataclass(frozen=True)
class Key:
    key: str
    type: str
    default: str
    env: str


@dataclass(frozen=True)
class Section:
    heading: str  # [http], [[users]], [endpoints.NAME]
    keys: tuple[Key, ...]




def toml_value(value: Any) -> str:
    """A default as it would be written in the TOML file."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, (int, float)):
        return f"`{value}`"
    if isinstance(value, Mapping):
        return "`{}`" if not value else "`{" + ", ".join(
            f'"{k}" = "{v}"' for k, v in value.items()) + "}`"
    return "`[" + ", ".join(f'"{v}"' for v in value) + "]`"


def _default(field: dataclasses.Field[Any], actual: Any) -> str:
    if actual is not dataclasses.MISSING:
        return toml_value(actual)
    if field.default is not dataclasses.MISSING:
        return toml_value(field.default)
    factory: Any = field.default_factory
    if factory is not dataclasses.MISSING:
        return toml_value(factory())
    return "required"


def sections() -> list[Section]:
    """Every section and key the loader accepts, with type, default and variable."""
    # the loader's own defaults, no file; "." keeps the default SQLite path relative
    defaults = build_settings({}, base_dir=Path())
    found = []
    for name, shape in schema.sections().items():
        cls, _ = schema.section_class(name)
        declared = schema.section_keys(name)
        built: Any = None
        if shape == "array":  # [[users]]: an array of tables, set as a whole by JSON
            heading, var = f"[[{name}]]", f"{ENV_PREFIX}{name.upper()}"
        elif shape == "named":  # [endpoints.NAME]
            heading, var = f"[{name}.NAME]", f"{ENV_PREFIX}{name.upper()}_<NAME>"
        else:
            heading, var, built = f"[{name}]", None, getattr(defaults, name)
        keys = []
        for key in dataclasses.fields(cls):
            if key.name not in declared:
                continue  # a named table's name, not a key
            actual = getattr(built, key.name) if built is not None else dataclasses.MISSING
            env = var or f"{ENV_PREFIX}{name.upper()}_{key.name.upper()}"
            keys.append(Key(key.name, DOC_TYPES[declared[key.name].kind],
                            _default(key, actual), env))
        found.append(Section(heading, tuple(keys)))
    return found


def documented(text: str) -> dict[str, dict[str, list[str]]]:
    """The page's tables: heading -> key -> its cells after the key."""
    tables: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            current = tables.setdefault(heading.group("name"), {})
            continue
        if line.startswith("## "):
            current = None
        row = _ROW.match(line)
        if row and current is not None:
            current[row.group("key")] = [c.strip() for c in row.group("cells").split(" | ")]
    return tables


def render_table(section: Section, rows: Mapping[str, list[str]]) -> str:
    lines = [HEADER]
    for key in section.keys:
        cells = rows.get(key.key, [])
        effect = cells[3] if len(cells) > 3 else TODO
        meaning = " | ".join(cells[4:]) if len(cells) > 4 else TODO
        env = f"`{key.env}`"
        lines.append(f"| `{key.key}` | {key.type} | {key.default} | {env} | {effect} | "
                     f"{meaning} |")
    return "\n".join(lines)


def regenerate(text: str) -> str:
    """The page with every section's table rebuilt from the code; missing sections appended."""
    tables = documented(text)
    out: list[str] = []
    lines = text.splitlines()
    index = 0
    by_heading = {s.heading: s for s in sections()}
    seen: set[str] = set()
    while index < len(lines):
        line = lines[index]
        out.append(line)
        index += 1
        heading = _HEADING.match(line)
        if not heading or heading.group("name") not in by_heading:
            continue
        name = heading.group("name")
        seen.add(name)
        while index < len(lines) and not lines[index].startswith(("|", "## ")):
            out.append(lines[index])
            index += 1
        while index < len(lines) and lines[index].startswith("|"):
            index += 1  # the old table
        out.append(render_table(by_heading[name], tables.get(name, {})))
    for name, section in by_heading.items():
        if name not in seen:
            out += ["", f"## {name}", "", TODO, "", render_table(section, {})]
    return "\n".join(out) + "\n"


def stale_headings(text: str) -> list[str]:
    """Section headings in the page that the code does not have."""
    known = {s.heading for s in sections()}
    return [name for name in documented(text) if name not in known]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {PAGE.name} in place")
    args = parser.parse_args(argv)
    text = PAGE.read_text(encoding="utf-8")
    fresh = regenerate(text)
    if args.write:
        PAGE.write_text(fresh, encoding="utf-8")
        print(f"{PAGE}: tables regenerated; fill in every {TODO}")
        return 0
    if fresh != text or stale_headings(text):
        print(f"{PAGE} is out of date: run python -m tests.packaging.config_reference --write",
              file=sys.stderr)
        return 1
    print(f"{PAGE} is current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
