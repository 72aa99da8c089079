"""Rule definitions: rules as written in files (native YAML, ATSD XML), read, checked, exported.

A rule goes file -> :class:`Rule` here, then the engine (:mod:`rules.engine`) compiles it.

- :mod:`~rules.definitions.model`: :class:`Rule` and its parts, plain frozen data;
- :mod:`~rules.definitions.loader`: :func:`load_rules` finds the rule files and builds and
  checks every rule; each fault is a :class:`RuleIssue` (:mod:`~rules.definitions.issues`);
- :mod:`~rules.definitions.yaml_format` and :mod:`~rules.definitions.atsd_xml`: the two file
  formats; :mod:`~rules.definitions.durations`: durations and windows both use;
- :mod:`~rules.definitions.rule_check`: the checks that compile expressions and templates;
- :mod:`~rules.definitions.rule_set`: :class:`RuleSet`, the rules in force, reloaded safely.

The submodules import one another directly, never this package.
"""

from rules.definitions.atsd_xml import export_xml, parse_xml
from rules.definitions.durations import parse_duration, parse_window
from rules.definitions.issues import RuleIssue, errors_of
from rules.definitions.loader import load_bytes, load_file, load_rules, without_origin
from rules.definitions.model import (
    TRIGGERS,
    NotificationSpec,
    RepeatSpec,
    Rule,
    Trigger,
    TriggerSpec,
    WindowSpec,
)
from rules.definitions.rule_check import check_rule
from rules.definitions.rule_set import ImportResult, ReloadResult, RuleSet
from rules.definitions.yaml_format import parse_yaml

__all__ = [
    "TRIGGERS",
    "ImportResult",
    "NotificationSpec",
    "ReloadResult",
    "RepeatSpec",
    "Rule",
    "RuleIssue",
    "RuleSet",
    "Trigger",
    "TriggerSpec",
    "WindowSpec",
    "check_rule",
    "errors_of",
    "export_xml",
    "load_bytes",
    "load_file",
    "load_rules",
    "parse_duration",
    "parse_window",
    "parse_xml",
    "parse_yaml",
    "without_origin",
]
