"""The declared type of every configuration key, read from the settings dataclasses.

One source for what a key is: the environment reader converts ``ATSD_BOT_<SECTION>_<KEY>``
by it (a string key stays text, a number or boolean must parse), ``config show`` walks it,
and the reference page (docs/configuration.md) is generated from the same dataclasses.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.config.settings import Settings

__all__ = ["ARRAY_SECTIONS", "NAMED_SECTIONS", "NOT_KEYS", "Key", "key_kind", "section_class",
           "section_keys", "sections"]

NOT_KEYS = frozenset({"base_dir"})  # Settings fields that are not part of the file
KINDS = {str: "text", int: "integer", float: "number", bool: "boolean"}


@dataclass(frozen=True)
class Key:
    name: str
    kind: str  # text | integer | number | boolean | list | table
    secret: bool  # repr=False in the dataclass: masked wherever it is shown


def _unwrap(hint: Any) -> Any:
    """``X | None`` -> ``X``."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0] if len(args) == 1 else hint
    return hint


def _kind(hint: Any) -> str:
    hint = _unwrap(hint)
    origin = typing.get_origin(hint)
    if origin is tuple:
        return "list"
    if origin is not None and issubclass(origin, Mapping):
        return "table"
    return KINDS[hint]


def section_class(name: str) -> tuple[type, str]:
    """The dataclass of a Settings field and its shape: table, array ([[users]]) or named."""
    hint = _unwrap(typing.get_type_hints(Settings)[name])
    origin = typing.get_origin(hint)
    if origin is tuple:
        return typing.get_args(hint)[0], "array"
    if origin is not None and issubclass(origin, Mapping):
        return typing.get_args(hint)[1], "named"
    return hint, "table"


def sections() -> dict[str, str]:
    """Section name -> shape (``table``, ``array`` for [[users]], ``named`` for [endpoints.X])."""
    return {f.name: section_class(f.name)[1] for f in dataclasses.fields(Settings)
            if f.name not in NOT_KEYS}


ARRAY_SECTIONS = frozenset(n for n, shape in sections().items() if shape == "array")
NAMED_SECTIONS = frozenset(n for n, shape in sections().items() if shape == "named")


def section_keys(section: str) -> dict[str, Key]:
    """The keys of one section (for named sections: of each named table)."""
    cls, shape = section_class(section)
    hints = typing.get_type_hints(cls)
    return {f.name: Key(f.name, _kind(hints[f.name]), not f.repr)
            for f in dataclasses.fields(cls) if not (shape == "named" and f.name == "name")}


def key_kind(section: str, key: str) -> str | None:
    """The declared kind of ``[section] key``; None when there is no such key."""
    if section not in sections():
        return None
    found = section_keys(section).get(key)
    return found.kind if found else None
