"""The files ``atsd-bot init`` writes: the commented configuration and the example rules.

The configuration is generated from the settings code (:mod:`bot.config.schema` and the
dataclasses' defaults), so every section and key appears with its current default; the values
``init`` sets (the database beside the file, the rule folder, the admin user, the session key)
are written out, everything else is a commented default to uncomment.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from bot.config.schema import section_class, section_keys, sections

__all__ = ["EXAMPLE_RULES", "config_text"]

HEAD = """\
# atsd-bot configuration, written by 'atsd-bot init'.
#
# A line "# key = value" shows the default (or an example); remove the "#" to change it.
# Relative paths are relative to this file's folder. Every key can also come from the
# environment as ATSD_BOT_<SECTION>_<KEY> (ATSD_BOT_HTTP_PORT=9000), which suits secrets.
#
#   atsd-bot config check --config {name}    checks everything a start needs
#   atsd-bot serve --config {name}           runs the service
#
# The meaning of every key: docs/configuration.md in the atsd-bot repository.
"""

ABOUT = {
    "http": "The HTTP server: webhooks, the data API, the web UI, /healthz and /metrics.",
    "database": "SQLite beside this file; PostgreSQL for several instances:\n"
                'url = "postgresql+psycopg://atsd:PASSWORD@db.example.com/atsd"',
    "users": "Who may use the web UI, the API and the webhooks; roles: webhook, api, admin.\n"
             "A password_hash comes from:  atsd-bot hash-password",
    "webhook": "Webhook receiver options.",
    "rules": "Folders (or files) of rules, relative to this file.",
    "rocketchat": "The bot in Rocket.Chat (docs/getting-started.md). Without this section\n"
                  "atsd-bot takes webhooks but is not in Rocket.Chat. Give the bot's personal\n"
                  "access token (user_id + token) or its user name and password.",
    "endpoints": "Extra places rules can notify; \"log\" always exists, \"rocketchat\" with\n"
                 "the [rocketchat] section.",
    "delivery": "How the outbox retries a failed notification.",
    "retention": "How long records are kept (a duration, or \"forever\"); pruned daily and by\n"
                 "'atsd-bot prune'. Open alerts and unsent notifications are never pruned.",
}

# Examples for keys without a default (or whose default is not a useful line to show).
EXAMPLES = {
    "http.secret_key": '"..."  # set by atsd-bot init',
    "http.public_url": '"https://atsd-bot.example.com"',
    "users.password": '"..."  # instead of password_hash',
    "webhook.tokens": '{ "rocket.chat" = "the outgoing integration\'s token" }',
    "rocketchat.url": '"https://chat.example.com"',
    "rocketchat.user_id": '"the bot\'s user id"',
    "rocketchat.token": '"the bot\'s personal access token"',
    "rocketchat.user": '"atsd_bot"',
    "rocketchat.password": '"the bot\'s password"',
    "endpoints.kind": '"http"  # http | rocketchat | log',
    "endpoints.url": '"https://hooks.example.com/atsd"',
    "endpoints.room": '"ROOM-ID"  # rocketchat: a room id, not a name',
    "endpoints.headers": '{ Authorization = "Bearer ..." }',
}

EXAMPLE_RULES = """\
# Example rules, written by 'atsd-bot init'. The reference: docs/rules.md.
#
# Disk full: a monitoring agent posts one JSON document per disk, e.g.
#   curl -u USER:PASSWORD -H 'Content-Type: application/json' \\
#     -d '{"host": "db1", "mount": "/var", "used_percent": 97}' \\
#     'http://127.0.0.1:8088/api/v1/messages/webhook/monitoring?command.entity=host'
# One alert per host and mount opens at 90 % and is cancelled by the first report below.
# It notifies the log; with [rocketchat] set, use endpoint: rocketchat and a room id.
rules:
  - name: disk_full
    description: A disk at 90 % or more, per host and mount point.
    source: monitoring
    filter: "tags.used_percent != null AND tags.mount != null"
    window: length(1)
    group_by_entity: true
    group_by_tags: [mount]
    condition: "tags.used_percent >= 90"
    severity: MAJOR
    notifications:
      - endpoint: log
        open: '${entity} ${tags.mount} is ${tags.used_percent} % full'
        repeat: 'still full: ${entity} ${tags.mount} at ${tags.used_percent} %'
        repeat_every: {minutes: 30}
        cancel: '${entity} ${tags.mount} is back to ${tags.used_percent} %'
"""


def toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (tuple, list)):
        return json.dumps(list(value))
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{json.dumps(k)} = {json.dumps(v)}"
                               for k, v in value.items()) + "}"
    return str(value)


def _comment(text: str) -> list[str]:
    return [f"# {line}" for line in text.splitlines()]


def _default(cls: type, name: str) -> Any:
    for f in dataclasses.fields(cls):
        if f.name == name:
            if f.default is not dataclasses.MISSING:
                return f.default
            if f.default_factory is not dataclasses.MISSING:
                return f.default_factory()
    return None


def _key_lines(section: str, cls: type, set_values: Mapping[str, str]) -> list[str]:
    lines = []
    for key in section_keys(section).values():
        if section in ("users", "endpoints") and key.name == "name":
            continue
        dotted = f"{section}.{key.name}"
        if dotted in set_values:
            lines.append(f"{key.name} = {set_values[dotted]}")
            continue
        default = _default(cls, key.name)
        shown = EXAMPLES.get(dotted) or (toml(default) if default is not None else '""')
        lines.append(f"# {key.name} = {shown}")
    return lines


def config_text(*, name: str, admin_hash: str, secret_key: str) -> str:
    """The commented configuration ``init`` writes (``name``: the file's name, for the head)."""
    set_values = {
        "http.secret_key": toml(secret_key),
        "database.url": toml("sqlite:///atsd-bot.db"),
        "users.password_hash": toml(admin_hash),
        "users.roles": toml(["admin", "api"]),
        "rules.paths": toml(["rules.d"]),
    }
    out = [HEAD.format(name=name)]
    for section, shape in sections().items():
        cls = section_class(section)[0]
        out += _comment(ABOUT.get(section, ""))
        if shape == "array":
            out += [f"[[{section}]]", 'name = "admin"']
            out += _key_lines(section, cls, set_values)
        elif shape == "named":
            out += [f"# [{section}.oncall]"]
            out += _key_lines(section, cls, {})
        elif section == "rocketchat":
            out += [f"# [{section}]"] + _key_lines(section, cls, {})
        else:
            out += [f"[{section}]"] + _key_lines(section, cls, set_values)
        out.append("")
    return "\n".join(out)
