"""Load the TOML configuration, apply ``ATSD_BOT_<SECTION>_<KEY>`` overrides, validate.

Every problem is a :class:`ConfigError` whose text names the key and what is wrong with it, so
that ``atsd-bot serve`` can refuse to start with one clear line.

Import from :mod:`bot.config` (this module is what it re-exports): the settings types live in
:mod:`bot.config.settings`, the section builders in :mod:`bot.config.sections` and the typed
readers in :mod:`bot.config.read`.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.config.sections import build_settings
from bot.config.settings import (
    ROLES,
    DatabaseSettings,
    DeliverySettings,
    EndpointSettings,
    HttpSettings,
    RocketChatSettings,
    RulesSettings,
    Settings,
    UserSettings,
    WebhookSettings,
)
from bot.errors import ConfigError

__all__ = ["ENV_PREFIX", "ROLES", "ConfigError", "DatabaseSettings", "DeliverySettings",
           "EndpointSettings", "HttpSettings", "RocketChatSettings", "RulesSettings", "Settings",
           "UserSettings", "WebhookSettings", "apply_environment", "build_settings",
           "load_settings"]

ENV_PREFIX = "ATSD_BOT_"


def load_settings(path: str | Path | None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``path`` (may be None: defaults plus environment) and validate everything."""
    raw: dict[str, Any] = {}
    base_dir = Path.cwd()
    if path is not None:
        file = Path(path)
        base_dir = file.resolve().parent
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"configuration file {file} not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    apply_environment(raw, os.environ if environ is None else environ)
    return build_settings(raw, base_dir=base_dir)


def apply_environment(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    """``ATSD_BOT_HTTP_PORT=9000`` sets ``[http] port``; lists and tables take JSON."""
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name.startswith(ENV_PREFIX + "PROVISION_"):
            continue
        section, _, key = name[len(ENV_PREFIX):].lower().partition("_")
        if not key:
            # [[users]] is an array of tables, not a table with keys: ATSD_BOT_USERS takes
            # the whole list as JSON. Other bare names (ATSD_BOT_CONFIG) are not settings.
            if section == "users":
                raw["users"] = _env_value(name, value, [])
            continue
        table = raw.setdefault(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{name}: [{section}] is not a table")
        table[key] = _env_value(name, value, table.get(key))


def _env_value(name: str, value: str, current: Any) -> Any:
    stripped = value.strip()
    if isinstance(current, (list, dict)) or stripped[:1] in ("[", "{"):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{name}: expected JSON ({exc})") from None
    if stripped.lower() in ("true", "false"):
        return stripped.lower() == "true"
    if stripped.lstrip("-").isdigit():
        return int(stripped)
    return value
