"""The rule engine: a message command goes filter -> window -> condition -> status ->
notifications, inside the transaction of whoever hands it over (``rules.ingest``).

One module per stage:

- :mod:`~rules.engine.compiled`: rules compiled once for the hot path (expressions, templates,
  a fingerprint of what decides their windows);
- :mod:`~rules.engine.index`: which rules a command can match, by its exact type and source;
- :mod:`~rules.engine.windows`: the windows a command lands in and their alert fields;
- :mod:`~rules.engine.status`: the OPEN / REPEAT / CANCEL table;
- :mod:`~rules.engine.fields`: what filters, conditions and notification texts see;
- :mod:`~rules.engine.triggers`: what a status change sends;
- :mod:`~rules.engine.rule_engine`: :class:`RuleEngine`, the hot path and ``tick``, with its
  mixins :mod:`~rules.engine.lifecycle` (load rules, restore windows),
  :mod:`~rules.engine.alerts` (diagnostics, operator actions) and :mod:`~rules.engine.txn`
  (undo log, lock order);
- :mod:`~rules.engine.state`: windows as rows (the SQL is in :mod:`rules.store.engine_state`);
- :mod:`~rules.engine.dryrun`: what one rule would do with some commands, sending nothing;
- :mod:`~rules.engine.schedule`: the one-second heartbeat and the ``timer_*`` commands.

The submodules import one another directly, never this package, so that these re-exports
close no import circle.
"""

from rules.engine.alerts import MAX_REASON
from rules.engine.compiled import (
    CompiledRule,
    RuleFault,
    RuleLoadError,
    compile_rule,
    compile_rules,
)
from rules.engine.dryrun import DryRunReport, StepReport
from rules.engine.index import RuleIndex
from rules.engine.rule_engine import RuleEngine
from rules.engine.schedule import EngineScheduler
from rules.engine.status import Status, transition
from rules.engine.windows import Window

__all__ = [
    "MAX_REASON",
    "CompiledRule",
    "DryRunReport",
    "EngineScheduler",
    "RuleEngine",
    "RuleFault",
    "RuleIndex",
    "RuleLoadError",
    "Status",
    "StepReport",
    "Window",
    "compile_rule",
    "compile_rules",
    "transition",
]
