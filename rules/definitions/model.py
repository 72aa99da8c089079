"""Rules as loaded: plain frozen data, the same whether a rule came from YAML or ATSD XML.

The loader builds these (validating every field); the engine compiles them into its own
fast form; the exporter writes them back as ATSD XML. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Trigger = Literal["open", "repeat", "cancel"]
Conversation = Literal["flat", "thread"]
CONVERSATIONS: tuple[Conversation, ...] = ("flat", "thread")
REOPEN_WITHIN_SECONDS = 600.0  # the default of ``reopen_within``: 10 minutes
TRIGGERS: tuple[Trigger, ...] = ("open", "repeat", "cancel")


@dataclass(frozen=True)
class WindowSpec:
    """``length(N)``: the last N commands; ``time(N unit)``: commands of the last N seconds."""

    kind: Literal["length", "time"]
    count: int = 1  # length windows
    seconds: float = 0.0  # time windows
    text: str = "length(1)"  # as written, for export and display


@dataclass(frozen=True)
class TriggerSpec:
    enabled: bool = False
    text: str = ""  # a template: ${expr} and @if{...}@else{}@end{}


@dataclass(frozen=True)
class RepeatSpec:
    """How often a REPEAT notifies: ``all``, every N ``events`` or at most every N ``minutes``."""

    kind: Literal["all", "events", "minutes"] = "all"
    every: int = 1


@dataclass(frozen=True)
class NotificationSpec:
    endpoint: str  # a configured endpoint name: rocketchat, log, or one from [endpoints]
    open: TriggerSpec = field(default_factory=TriggerSpec)
    repeat: TriggerSpec = field(default_factory=TriggerSpec)
    cancel: TriggerSpec = field(default_factory=TriggerSpec)
    repeat_every: RepeatSpec = field(default_factory=RepeatSpec)
    delay_open_seconds: float = 0.0
    room: str | None = None  # Rocket.Chat: another room than the triggering message's
    # Rocket.Chat webhook path only: answer in the HTTP response instead of the outbox
    sync_reply: bool = False
    enabled: bool = True
    name: str = ""

    def trigger(self, which: Trigger) -> TriggerSpec:
        return {"open": self.open, "repeat": self.repeat, "cancel": self.cancel}[which]


@dataclass(frozen=True)
class Rule:
    name: str
    enabled: bool = True
    # message type / source filters: exact names or * ? patterns; empty means any
    types: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    filter: str | None = None  # an expression; the command passes only if it is true
    time_offset_seconds: float = 0.0  # 0: off
    group_by_entity: bool = True
    group_by_tags: Literal["none", "all"] | tuple[str, ...] = "none"
    window: WindowSpec = field(default_factory=lambda: WindowSpec(kind="length", count=1))
    check_on_exit: bool = False
    condition: str = "true"
    severity: str = "WARNING"  # a severity name, or UNKNOWN to inherit the message's
    notifications: tuple[NotificationSpec, ...] = ()
    description: str = ""
    metric: str = "message"  # ATSD metric: message, or a timer_15s/1m/15m/1h command type
    # Rocket.Chat: ``flat`` posts each notification as a room message (ATSD's way);
    # ``thread`` keeps one living message per alert (thread, edits, reactions, buttons)
    conversation: Conversation = "flat"
    # ``thread``: a window opening again this soon after its alert's cancel continues it
    reopen_within_seconds: float = REOPEN_WITHIN_SECONDS
    origin: str = ""  # file the rule was loaded from, for error messages
