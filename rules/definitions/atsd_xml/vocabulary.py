"""The ATSD rule XML vocabulary: which elements atsd-bot reads, skips, and writes.

Shared by :mod:`rules.definitions.atsd_xml.read` and :mod:`rules.definitions.atsd_xml.write`,
so that an element read
under one name is written back under the same one.
"""

# The element prefix of each trigger: <firstWebConfigParameters>, <first-enabled>, ...
TRIGGER_TAGS = {"open": "first", "repeat": "repeat", "cancel": "cancel"}

RULE_ELEMENTS = {"name", "metric", "description", "filter", "expression", "window",
                 "tagsGroupingStrategy", "tags", "disableEntityGrouping", "leavingEvents",
                 "severity", "timeFilter", "enabled", "entityFilter", "webNotification"}
# ATSD rule elements with no meaning here; the *Enabled ones warn when true.
IGNORED_ELEMENTS = {
    "alertOpenMessage", "alertMessage", "alertCancellationMessage", "alertMessageAsOpen",
    "alertCancellationMessageAsOpen", "alertStrategy", "lastUpdated", "loadHistory",
    "scriptAsOpen", "alertCancellationScriptAsOpen", "logOutput", "owner", "actionStrategy",
    "discardPreviousValues", "ruleTable", "alertLoggerName", "derivedCommand",
    "derivedCommandEnabled", "derivedCommandStrategy", "alertOpenMessageEnabled",
    "alertMessageEnabled", "alertCancellationMessageEnabled", "alertOpenScriptEnabled",
    "scriptEnabled", "alertCancellationScriptEnabled", "alertOpenScript", "script",
    "alertCancellationScript", "emailNotification", "minimumInterval", "lastUpdatedUser",
}
NOTIFICATION_ELEMENTS = {"disabled", "repeat-interval", "name", "webNotificationConfigName",
                         "firstWebConfigParameters", "repeatWebConfigParameters",
                         "cancelWebConfigParameters", "first-enabled", "repeat-enabled",
                         "cancel-enabled"}
IGNORED_NOTIFICATION_ELEMENTS = {
    "rule-name", "use-in-threshold-only", "first-details", "repeat-details", "cancel-details",
    "first-screenshot", "repeat-screenshot", "cancel-screenshot", "repeat-as-open",
    "cancel-as-open", "id",
}
