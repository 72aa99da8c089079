"""Typed reads of one TOML table: each fault is a :class:`ConfigError` naming the key.

``key`` is the dotted name shown to the user (``http.port``), ``name`` the key in the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.errors import ConfigError


def table(raw: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}]: expected a table")
    return value


def only(t: Mapping[str, Any], where: str, allowed: set[str]) -> None:
    unknown = sorted(set(t) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}.{unknown[0]}: unknown key; known: {', '.join(sorted(allowed))}"
        )


def text(t: Mapping[str, Any], key: str, name: str, default: str | None) -> str:
    value = t.get(name, default)
    if value is None:
        raise ConfigError(f"{key}: required")
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key}: expected a non-empty string, got {value!r}")
    return value


def integer(t: Mapping[str, Any], key: str, name: str, default: int, low: int, high: int) -> int:
    value = t.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"{key}: {value} is out of range {low}-{high}")
    return value


def number(t: Mapping[str, Any], key: str, name: str, default: float, low: float,
           high: float) -> float:
    """A positive duration or limit: an integer or a float within [low, high]."""
    value = t.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"{key}: {value} is out of range {low:g}-{high:g}")
    return float(value)


def boolean(t: Mapping[str, Any], key: str, name: str, default: bool) -> bool:
    value = t.get(name, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    return value


def choice(t: Mapping[str, Any], key: str, name: str, default: str | None,
            choices: tuple[str, ...]) -> str:
    value = text(t, key, name, default)
    if value not in choices:
        raise ConfigError(f"{key}: {value!r} is not one of {', '.join(choices)}")
    return value


def str_list(t: Mapping[str, Any], key: str, name: str,
              default: tuple[str, ...]) -> tuple[str, ...]:
    value = t.get(name, list(default))
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key}: expected a list of strings, got {value!r}")
    return tuple(value)
