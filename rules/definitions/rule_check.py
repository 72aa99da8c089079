"""Semantic checks of a built rule: compile its expressions and templates, check endpoints.

:func:`check_rule` runs after a format reader (YAML or ATSD XML) has built the rule from its
structure. Problems of a disabled rule are warnings, not errors: an ATSD export full of
series-metric rules (``avg() > 85``, a ``Telegram`` endpoint) imports disabled, is listed and
exports back unchanged. A field the language does not know is ``null`` at run time; that is a
warning too, since such rules still load in ATSD.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from rules.definitions.issues import RuleIssue
from rules.definitions.model import TRIGGERS, NotificationSpec, Rule

# The metrics a rule can watch: message commands, and the ticks of the built-in timers.
TIMER_METRICS = ("timer_15s", "timer_1m", "timer_15m", "timer_1h")

# What rules.engine.fields gives a filter (the command) and a condition or text (plus the window).
COMMAND_FIELDS = frozenset({"entity", "type", "source", "message", "severity", "tags",
                            "command_time", "metric"})
WINDOW_FIELDS = frozenset({
    "rule", "status", "before_status", "message_severity", "repeat_count", "window",
    "open_time", "repeat_time", "cancel_time", "add_time", "now", "alert_duration",
    "alert_duration_interval", "received_datetime", "alert_id", "window_tags", "count",
})

_Found = list[tuple[str, str, bool]]  # (field, message, is_error)


def check_rule(rule: Rule, endpoints: Collection[str] | None) -> list[RuleIssue]:
    """Compile the rule's expressions and templates; check endpoint names (None: skip).

    Problems of a disabled rule are downgraded to warnings (see the module docstring).
    """
    found: _Found = []
    _check_expression(found, "filter", rule.filter, COMMAND_FIELDS)
    _check_expression(found, "condition", rule.condition, COMMAND_FIELDS | WINDOW_FIELDS)
    for index, spec in enumerate(rule.notifications):
        _check_notification(found, f"notifications[{index}]", spec, endpoints)
    return [RuleIssue(rule.origin, rule.name, field, message,
                      "error" if is_error and rule.enabled else "warning")
            for field, message, is_error in found]


def _check_expression(found: _Found, field: str, text: str | None,
                      known: frozenset[str]) -> None:
    # Imported here, not at the top: loading the expression language builds its parser, and
    # the CLI's commands that never check a rule should not pay for it.
    from rules.expr import ExpressionError, compile_expression

    if text is None:
        return
    try:
        compiled = compile_expression(text)
    except ExpressionError as exc:
        found.append((field, str(exc), True))
        return
    unknown = _unknown(compiled.fields, known)
    if unknown:
        found.append((field, f"field {unknown} is not available here and is always null",
                      False))


def _check_notification(found: _Found, where: str, spec: NotificationSpec,
                        endpoints: Collection[str] | None) -> None:
    from rules.expr import ExpressionError
    from rules.expr.template import compile_template

    if endpoints is not None and spec.endpoint not in endpoints:
        known = ", ".join(sorted(endpoints)) or "none"
        found.append((f"{where}.endpoint", f"unknown endpoint {spec.endpoint!r}; "
                      f"configured: {known}", True))
    for trigger in TRIGGERS:
        text = spec.trigger(trigger).text
        if not text:
            continue
        try:
            template = compile_template(text)
        except ExpressionError as exc:
            found.append((f"{where}.{trigger}", str(exc), True))
            continue
        unknown = _unknown(template.fields, COMMAND_FIELDS | WINDOW_FIELDS)
        if unknown:
            found.append((f"{where}.{trigger}", f"field {unknown} is not available and "
                          "renders empty", False))


def _unknown(fields: Iterable[str], known: frozenset[str]) -> str:
    """The fields outside ``known``, quoted and sorted (``"'a', 'b'"``); "" when none."""
    return ", ".join(map(repr, sorted(set(fields) - known)))
