"""ATSD rule XML (``<rules><rule>...</rule></rules>``): import into Rules, export back.

Parsing goes through defusedxml with DTDs forbidden: a document that declares entities (the
"billion laughs" and external-entity attacks) is refused with a clear error, never expanded.

Mapping (ATSD element -> Rule field): ``name``, ``metric``, ``description``, ``filter``,
``expression`` -> condition, ``window``, ``tagsGroupingStrategy`` NO_TAGS/ALL_TAGS/DEFINED_TAGS
(the tag list of DEFINED_TAGS from ``<tags>``, comma-separated) -> group_by_tags,
``disableEntityGrouping`` -> not group_by_entity, ``leavingEvents`` -> check_on_exit,
``severity``, ``timeFilter`` (intervalCount + intervalUnit) -> time_offset, ``enabled``,
``entityFilter`` (comma-separated names/patterns) -> entities, and each ``webNotification``.

Decisions (written in README "Rules" too):
- A rule on a series metric (not ``message`` or a ``timer_*``) cannot fire in atsd-bot, which
  receives only message commands: it is imported **disabled** with a warning, so a whole ATSD
  export imports and exports back unchanged.
- ``webNotificationConfigName`` names the endpoint: an exactly configured name is kept; else a
  name containing "rocket" (any case) becomes ``rocketchat``; else a configured name equal
  ignoring case; else the name is kept as written and the loader reports it as unknown.
- The text of a trigger is the ``message`` key of its ``*WebConfigParameters``, or ``text`` when
  there is no ``message`` key (ATSD's Telegram/Slack endpoints call it ``text``).
- ``repeat-interval``: type ALL -> every repeat; COUNT -> every ``intervalCount`` events;
  INTERVAL/TIME -> at most every ``intervalCount`` ``intervalUnit`` (in whole minutes).
- atsd-bot settings ATSD has no element for travel as parameters of ``firstWebConfigParameters``
  (``room``, ``delay_open`` as a duration like ``30s``, ``sync_reply``), which ATSD keeps as
  free key/values; a bare number there is refused, as in YAML (no silent seconds).
  Rule ``type``/``source`` lists are written into ``<filter>`` (ATSD has no such fields).
- ATSD elements atsd-bot has no use for (alert logger messages, scripts, derived commands,
  screenshots...) are skipped quietly, with a warning when one of them is switched on;
  elements ATSD does not define either are skipped with a warning.
"""

from rules.definitions.atsd_xml.read import parse_xml
from rules.definitions.atsd_xml.write import export_xml

__all__ = ["export_xml", "parse_xml"]
