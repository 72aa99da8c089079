"""Load rules: discover ``*.yml``/``*.yaml``/``*.xml`` in the rule folders, build and check them.

``load_rules(paths, endpoints=...)`` returns ``(rules, issues)``. One bad rule never stops the
others: a rule with an error is left out and reported; a warning keeps the rule. Every
:class:`RuleIssue` names the file, the rule and the field, e.g.
``rules.d/ops.yml: rule 'disk': window: length must be 1 to 100000, got 0``.

The native YAML format (documented in README "Rules") is read by
:mod:`rules.definitions.yaml_format`, ATSD XML exports by :mod:`rules.definitions.atsd_xml`.
Both build :class:`rules.definitions.model.Rule` structurally;
:func:`rules.definitions.rule_check.check_rule` then compiles filter, condition and templates
with the expression language (syntax errors, unknown functions) and checks endpoint names.
This module finds and reads the files, and drops duplicate names.

Decisions:
- A *disabled* rule is checked like any other, but faults of its expressions, templates and
  endpoints are warnings: an ATSD export full of series-metric rules (``avg() > 85``, a
  ``Telegram`` endpoint) imports disabled, is listed and exports back unchanged.
- A field the language does not know (ATSD's ``value`` on a message rule) is ``null`` at run
  time; it is reported as a warning, not an error, since such rules still load in ATSD.
- Files are read in sorted order (folders in the configured order); for a duplicate name the
  first definition wins and the later one is an error.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Literal

from rules.definitions.atsd_xml import parse_xml
from rules.definitions.issues import RuleIssue, errors_of
from rules.definitions.model import Rule
from rules.definitions.rule_check import check_rule
from rules.definitions.yaml_format import parse_yaml

# RuleIssue and errors_of come with the results of load_*; callers import them from here too.
__all__ = ["MAX_FILE_BYTES", "RULE_SUFFIXES", "RuleIssue", "discover", "drop_duplicates",
           "errors_of", "load_bytes", "load_file", "load_rules", "without_origin"]

MAX_FILE_BYTES = 4 * 1024 * 1024  # a rule file larger than this is refused, not parsed
RULE_SUFFIXES = (".yml", ".yaml", ".xml")


def discover(paths: Sequence[str | Path], base_dir: Path | None = None) -> list[Path]:
    """Rule files under ``paths`` (files or folders; relative to ``base_dir``), sorted."""
    found: list[Path] = []
    for entry in paths:
        path = Path(entry)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if path.is_dir():
            found += sorted(p for p in path.iterdir()
                            if p.is_file() and p.suffix.lower() in RULE_SUFFIXES
                            and not p.name.startswith("."))
        else:
            found.append(path)  # a missing file is reported by load_file
    return found


def load_rules(
    paths: Sequence[str | Path], *, endpoints: Collection[str] | None = None,
    base_dir: Path | None = None,
) -> tuple[list[Rule], list[RuleIssue]]:
    """Load every rule file under ``paths``; ``endpoints``: the configured names (None: skip)."""
    rules: list[Rule] = []
    issues: list[RuleIssue] = []
    for path in discover(paths, base_dir):
        found, problems = load_file(path, endpoints=endpoints)
        rules += found
        issues += problems
    kept, dup_issues = drop_duplicates(rules)
    return kept, issues + dup_issues


def _not_found(origin: str, what: str) -> RuleIssue:
    """A rule path that is not there; the text names the fix (``config check`` adds none)."""
    return RuleIssue(origin, "", "", f"{what} not found; create it or fix the path "
                     "(rules.paths is relative to the configuration file)")


def load_file(
    path: str | Path, *, endpoints: Collection[str] | None = None
) -> tuple[list[Rule], list[RuleIssue]]:
    """Read one rule file (by its suffix: YAML or ATSD XML); unreadable or too large: an issue."""
    file = Path(path)
    origin = str(path)
    if not file.exists():
        what = "file" if file.suffix.lower() in RULE_SUFFIXES else "file or folder"
        return [], [_not_found(origin, what)]
    if file.suffix.lower() not in RULE_SUFFIXES:
        return [], [RuleIssue(origin, "", "", "not a rule file: expected .yml, .yaml or .xml")]
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            return [], [RuleIssue(origin, "", "", f"file is {size} bytes; the limit is "
                                  f"{MAX_FILE_BYTES}")]
        data = file.read_bytes()
    except FileNotFoundError:  # removed since the check above
        return [], [_not_found(origin, "file")]
    except OSError as exc:
        return [], [RuleIssue(origin, "", "", f"cannot read: {exc.strerror or exc}")]
    if file.suffix.lower() == ".xml":
        return load_bytes(data, origin, fmt="xml", endpoints=endpoints)
    return load_bytes(data, origin, fmt="yaml", endpoints=endpoints)


def load_bytes(
    data: bytes | str, origin: str, *, fmt: Literal["yaml", "xml"],
    endpoints: Collection[str] | None = None,
) -> tuple[list[Rule], list[RuleIssue]]:
    """Parse one document (YAML or ATSD XML), check each rule; duplicates within it too."""
    if len(data) > MAX_FILE_BYTES:
        return [], [RuleIssue(origin, "", "", f"document is larger than {MAX_FILE_BYTES} bytes")]
    if fmt == "xml":
        built, issues = parse_xml(data, origin, endpoints=endpoints)
    else:
        built, issues = parse_yaml(data, origin)
    rules: list[Rule] = []
    for rule in built:
        problems = check_rule(rule, endpoints)
        issues += problems
        if not errors_of(problems):
            rules.append(rule)
    kept, dup_issues = drop_duplicates(rules)
    return kept, issues + dup_issues


def drop_duplicates(rules: Sequence[Rule]) -> tuple[list[Rule], list[RuleIssue]]:
    """The first rule of each name; every later one is an error naming where the first is."""
    seen: dict[str, Rule] = {}
    issues: list[RuleIssue] = []
    for rule in rules:
        first = seen.get(rule.name)
        if first is None:
            seen[rule.name] = rule
            continue
        where = "earlier in the same file" if first.origin == rule.origin else f"in {first.origin}"
        issues.append(RuleIssue(rule.origin, rule.name, "name",
                                f"duplicate rule name: already defined {where}"))
    return list(seen.values()), issues


def without_origin(rule: Rule) -> Rule:
    """The rule with ``origin`` cleared: for comparing rules read from different files."""
    return replace(rule, origin="")
