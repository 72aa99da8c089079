"""Load the TOML configuration, apply ``ATSD_BOT_<SECTION>_<KEY>`` overrides, validate.

Every problem is a :class:`ConfigError` whose text names the key and what is wrong with it, so
that ``atsd-bot serve`` can refuse to start with one clear line.

- The file is ``--config`` or else ``ATSD_BOT_CONFIG`` (:func:`config_path`); relative paths
  in it (the SQLite database, rule folders) are relative to the file's folder.
- An environment value takes its key's declared type (:mod:`bot.config.schema`): a string key
  keeps the text (``ATSD_BOT_ROCKETCHAT_PASSWORD=123456`` is ``"123456"``); a number or boolean
  that does not parse is an error naming the variable; an unknown ``ATSD_BOT_`` variable is a
  warning naming it.

Import from :mod:`bot.config` (this module is what it re-exports): the settings types live in
:mod:`bot.config.settings`, the section builders in :mod:`bot.config.sections` and the typed
readers in :mod:`bot.config.read`.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config.schema import ARRAY_SECTIONS, NAMED_SECTIONS, key_kind
from bot.config.sections import build_settings
from bot.config.settings import (
    ROLES,
    DatabaseSettings,
    DeliverySettings,
    EndpointSettings,
    HttpSettings,
    RetentionSettings,
    RocketChatSettings,
    RulesSettings,
    Settings,
    UserSettings,
    WebhookSettings,
)
from bot.errors import ConfigError

__all__ = ["CONFIG_ENV", "ENV_PREFIX", "ROLES", "ConfigError", "DatabaseSettings",
           "DeliverySettings", "EndpointSettings", "HttpSettings", "Loaded", "RetentionSettings",
           "RocketChatSettings", "RulesSettings", "Settings", "UserSettings", "WebhookSettings",
           "apply_environment", "build_settings", "config_path", "load_settings", "read_config",
           "read_toml", "typed"]

log = logging.getLogger(__name__)

ENV_PREFIX = "ATSD_BOT_"
CONFIG_ENV = "ATSD_BOT_CONFIG"  # names the file when --config is not given
# Variables under the prefix that are not settings: the file's name and the provisioning
# commands' options (scripts/common.py).
NOT_SETTINGS = (CONFIG_ENV,)
NOT_SETTINGS_PREFIXES = (ENV_PREFIX + "PROVISION_",)
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


@dataclass(frozen=True)
class Loaded:
    """What was read: the settings and where each value came from (for ``config show``)."""

    settings: Settings
    file: Path | None  # None: defaults plus environment
    raw_file: Mapping[str, Any]  # the TOML as parsed, before the environment
    from_env: Mapping[tuple[str, str], str]  # (section, key or table name) -> variable
    warnings: tuple[str, ...] = ()


def config_path(given: str | Path | None, environ: Mapping[str, str] | None = None,
                ) -> Path | None:
    """``--config`` first, then ``ATSD_BOT_CONFIG``; None when neither names a file."""
    env = os.environ if environ is None else environ
    chosen = given or env.get(CONFIG_ENV) or None
    return Path(chosen) if chosen else None


def load_settings(path: str | Path | None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``path`` (may be None: defaults plus environment) and validate everything."""
    loaded = read_config(path, environ)
    for warning in loaded.warnings:
        log.warning("%s", warning)
    return loaded.settings


def read_config(path: str | Path | None, environ: Mapping[str, str] | None = None) -> Loaded:
    """Like :func:`load_settings`, keeping the sources and the warnings apart."""
    raw: dict[str, Any] = {}
    base_dir = Path.cwd()
    file = None
    if path is not None:
        file = Path(path)
        base_dir = file.resolve().parent
        raw = read_toml(file)
    from_file = copy.deepcopy(raw)
    sources, warnings = apply_environment(raw, os.environ if environ is None else environ)
    return Loaded(build_settings(raw, base_dir=base_dir), file, from_file, sources,
                  tuple(warnings))


def read_toml(file: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"configuration file {file} not found; check the path, or write "
                          f"one with 'atsd-bot init {file.parent}'") from None
    except IsADirectoryError:
        raise ConfigError(f"{file} is a folder; give the configuration file in it") from None
    except PermissionError:
        raise ConfigError(f"configuration file {file} cannot be read: permission denied; "
                          "make it readable by the service's user") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file}: not UTF-8 text ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None


def apply_environment(raw: dict[str, Any], environ: Mapping[str, str],
                      ) -> tuple[dict[tuple[str, str], str], list[str]]:
    """``ATSD_BOT_HTTP_PORT=9000`` sets ``[http] port``, converted to the key's declared type.

    Returns which variable set which (section, key) and a warning for each variable under the
    prefix that is no setting. A value that does not fit its key is a ConfigError naming the
    variable.
    """
    sources: dict[tuple[str, str], str] = {}
    warnings: list[str] = []
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name in NOT_SETTINGS \
                or name.startswith(NOT_SETTINGS_PREFIXES):
            continue
        section, _, key = name[len(ENV_PREFIX):].lower().partition("_")
        value = environ[name]
        if section in ARRAY_SECTIONS and not key:
            # [[users]] is an array of tables: ATSD_BOT_USERS takes the whole list as JSON
            raw[section] = _json(name, value, list)
        elif section in NAMED_SECTIONS and key:
            _table(raw, name, section)[key] = _json(name, value, dict)
        elif key and key_kind(section, key) is not None:
            _table(raw, name, section)[key] = typed(f"{name} ({section}.{key})", value,
                                                    key_kind(section, key) or "")
        else:
            warnings.append(f"{name}: not a setting (no such section or key); ignored. "
                            "Names are ATSD_BOT_<SECTION>_<KEY>, e.g. ATSD_BOT_HTTP_PORT")
            continue
        sources[(section, key)] = name
    return sources, warnings


def _table(raw: dict[str, Any], name: str, section: str) -> dict[str, Any]:
    table = raw.setdefault(section, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{name}: [{section}] is not a table")
    return table


def typed(name: str, value: str, kind: str) -> Any:
    """An environment value as its key's kind; a string key keeps the text as given.
    ``name`` names the value in an error: the variable and its key."""
    stripped = value.strip()
    if kind == "integer":
        if not stripped.lstrip("+-").isdigit():
            raise ConfigError(f"{name}: expected an integer, got {value!r}")
        return int(stripped)
    if kind == "number":
        try:
            return float(stripped)
        except ValueError:
            raise ConfigError(f"{name}: expected a number, got {value!r}") from None
    if kind == "boolean":
        if stripped.lower() not in _TRUE | _FALSE:
            raise ConfigError(f"{name}: expected true or false, got {value!r}")
        return stripped.lower() in _TRUE
    if kind == "table" or (kind == "list" and stripped.startswith("[")):
        return _json(name, value, dict if kind == "table" else list)
    return value  # text, or a list as comma-separated text


def _json(name: str, value: str, shape: type) -> Any:
    try:
        parsed = json.loads(value.strip())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name}: expected JSON ({exc})") from None
    if not isinstance(parsed, shape):
        what = "array" if shape is list else "object"
        raise ConfigError(f"{name}: expected a JSON {what}, got {value.strip()[:40]!r}")
    return parsed
