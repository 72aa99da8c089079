"""The rule engine's tables: windows, alerts (open and closed), outbox, attempts, errors.

They live on the shared :data:`rules.store.tables.base.metadata`, so ``Database.create_schema``
creates them with every other table. The hot path writes one ``rule_windows`` row per state
change; an alert row is written when the alert opens and when it closes (history), and one
``outbox`` row per notification, all in the transaction of the command that caused them.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Index, Integer, String, Table, Text

from rules.store.tables.base import Id, Time, metadata

# One row per live window. ``entries`` holds what a restart needs to rebuild the window:
# for time windows the (date, message id) of each command still inside, for length windows
# nothing but the count; ``last_command`` the newest command (for conditions and display).
rule_windows = Table(
    "rule_windows",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("rule", String(256), nullable=False),
    Column("key", Text, nullable=False),
    # hash of the rule's filters, grouping, window and condition: a changed rule drops windows
    Column("fingerprint", String(64), nullable=False),
    Column("entity", String(512), nullable=False),
    Column("tags", JSON, nullable=False),
    Column("status", String(8), nullable=False),
    Column("count", Integer, nullable=False),
    Column("repeat_count", Integer, nullable=False),
    Column("alert_id", Id, nullable=True),
    Column("severity", Integer, nullable=True),
    Column("open_time", Time, nullable=True),
    Column("last_event_time", Time, nullable=True),
    Column("acknowledged", Boolean, nullable=False, default=False),
    Column("last_text", Text, nullable=True),
    Column("last_command", JSON, nullable=True),
    Column("entries", JSON, nullable=False),
    # per notification: last repeat sent, pending delayed open (outbox id, due time)
    Column("counters", JSON, nullable=False),
    Column("updated_at", Time, nullable=False),
    Index("ux_rule_windows_rule_key", "rule", "key", unique=True),
)

# Every alert ever opened; ``close_time`` is null while it is open. Closed rows are history.
alerts = Table(
    "alerts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("rule", String(256), nullable=False),
    Column("window_key", Text, nullable=False),
    Column("entity", String(512), nullable=False),
    Column("tags", JSON, nullable=False),
    Column("metric", String(64), nullable=False),
    Column("severity", Integer, nullable=True),
    Column("open_time", Time, nullable=False),
    Column("last_event_time", Time, nullable=False),
    Column("close_time", Time, nullable=True),
    Column("repeat_count", Integer, nullable=False, default=0),
    Column("acknowledged", Boolean, nullable=False, default=False),
    # who acknowledged (or took it back) and why; who resolved it by hand and why
    Column("ack_by", String(256), nullable=True),
    Column("ack_reason", Text, nullable=True),
    Column("closed_by", String(256), nullable=True),
    Column("close_note", Text, nullable=True),
    Column("text_value", Text, nullable=False, default=""),
    Column("last_alert_text", Text, nullable=True),
    Column("rule_expression", Text, nullable=False, default=""),
    Column("rule_filter", Text, nullable=False, default=""),
    Column("window", String(64), nullable=False, default=""),
    Column("received_date", Time, nullable=True),
    # CANCEL (condition false), RESOLVED (by hand), or why the window was dropped: rule
    # changed / rule removed
    Column("close_reason", String(32), nullable=True),
    Index("ix_alerts_close_time", "close_time"),
    Index("ix_alerts_rule", "rule"),
)

# Durable notifications. status: pending | sending | delivered | failed | silenced (held by
# silence ``silence_id``) | response (a synchronous webhook reply, delivered by the HTTP
# answer) | cancelled (a delayed open whose window cancelled in time). Chat command answers
# and silence-end notes are rows too (rule ``chat``, trigger ``reply`` / ``note``).
outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("created_at", Time, nullable=False),
    Column("due_at", Time, nullable=False),
    Column("next_attempt_at", Time, nullable=False),
    Column("rule", String(256), nullable=False),
    Column("endpoint", String(128), nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("alert_id", Id, nullable=True),
    Column("text", Text, nullable=False),
    Column("target", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("claimed_by", String(128), nullable=True),
    Column("claimed_at", Time, nullable=True),
    Column("delivered_at", Time, nullable=True),
    Column("detail", Text, nullable=True),
    Column("silence_id", Id, nullable=True),
    Index("ix_outbox_due", "status", "next_attempt_at"),
    Index("ix_outbox_alert", "alert_id"),
)

outbox_attempts = Table(
    "outbox_attempts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("outbox_id", Id, nullable=False),
    Column("at", Time, nullable=False),
    Column("outcome", String(16), nullable=False),  # delivered | retry | failed
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("duration_ms", Integer, nullable=False, default=0),
    Index("ix_outbox_attempts_outbox", "outbox_id"),
)

rule_errors = Table(
    "rule_errors",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", Time, nullable=False),
    Column("rule", String(256), nullable=False),
    Column("expression", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("command", JSON, nullable=True),
    Index("ix_rule_errors_at", "at"),
)
