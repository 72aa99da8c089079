"""The effective configuration as flat ``section.key`` rows, secrets masked, with their sources.

``atsd-bot config show`` prints :func:`rows`; a ``SIGHUP`` reload logs the keys
:func:`changed_keys` finds between the old and the new settings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import make_url

from bot.config.load import Loaded
from bot.config.schema import section_keys, sections
from bot.config.settings import Settings

__all__ = ["MASK", "Row", "changed_keys", "flatten", "rows"]

MASK = "***"


@dataclass(frozen=True)
class Row:
    key: str  # http.port, users.ops.roles, endpoints.oncall.url
    value: str  # as TOML would write it; secrets masked
    source: str  # default | file PATH | environment NAME


def _text(value: Any, secret: bool) -> str:
    if value is None:
        return "unset"
    if secret:
        if isinstance(value, Mapping):  # tokens, headers: the names are not secret
            return json.dumps({k: MASK for k in value})
        return MASK
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return json.dumps(list(value))
    if isinstance(value, Mapping):
        return json.dumps(dict(value))
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


def flatten(settings: Settings, *, mask: bool = True) -> dict[str, str]:
    """Every key of ``settings`` as ``section.key`` (``users.NAME.key``) -> its text."""
    flat: dict[str, str] = {}
    for section, shape in sections().items():
        keys = section_keys(section)
        value = getattr(settings, section)
        if value is None:  # [rocketchat] not configured
            flat[section] = "unset"
            continue
        if shape == "array":
            tables = {item.name: item for item in value}
        elif shape == "named":
            tables = dict(value)
        else:
            tables = {"": value}
        for name, table in tables.items():
            prefix = f"{section}.{name}." if name else f"{section}."
            for key in keys.values():
                if shape == "array" and key.name == "name":
                    continue
                flat[prefix + key.name] = _text(getattr(table, key.name),
                                                key.secret and mask)
    if mask:  # a PostgreSQL URL may carry the password
        flat["database.url"] = json.dumps(make_url(settings.database.url)
                                          .render_as_string(hide_password=True))
    return flat


def changed_keys(old: Settings, new: Settings) -> list[str]:
    """The keys whose values differ (secrets compared, never shown); a user or endpoint table
    that comes or goes is one entry, ``users.NAME (added)``."""
    before, after = flatten(old, mask=False), flatten(new, mask=False)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    whole: dict[str, str] = {}
    for key in changed:
        parts = key.split(".")
        if len(parts) == 3 and sections().get(parts[0]) in ("array", "named"):
            table = f"{parts[0]}.{parts[1]}."
            if not any(k.startswith(table) for k in before):
                whole[table] = f"{table[:-1]} (added)"
            elif not any(k.startswith(table) for k in after):
                whole[table] = f"{table[:-1]} (removed)"
    found = [k for k in changed if not any(k.startswith(t) for t in whole)]
    return sorted(found + list(whole.values()))


def rows(loaded: Loaded) -> list[Row]:
    """The effective configuration of ``loaded``, each value with where it came from."""
    found = []
    for key, value in flatten(loaded.settings).items():
        found.append(Row(key, value, _source(loaded, key.split("."))))
    return found


def _source(loaded: Loaded, parts: list[str]) -> str:
    section = parts[0]
    shape = sections()[section]
    # ATSD_BOT_USERS sets all the users; ATSD_BOT_ENDPOINTS_<NAME> one endpoint table
    env_key = (section, "" if shape == "array" or len(parts) < 2 else parts[1])
    if env_key in loaded.from_env:
        return f"environment {loaded.from_env[env_key]}"
    table: Any = loaded.raw_file.get(section)
    if shape == "table" and len(parts) > 1:
        present = isinstance(table, dict) and parts[1] in table
    elif shape == "named" and len(parts) > 2:
        entry = table.get(parts[1]) if isinstance(table, dict) else None
        present = isinstance(entry, dict) and parts[2] in entry
    else:
        present = table is not None
    return f"file {loaded.file}" if present else "default"
