"""JavaScript value semantics for jsscript.py: undefined, ToString, truthiness, members, operators.

Values are plain Python: str, int/float, bool, None (null), UNDEFINED, dict (object),
list (array) and JSFunction (a built-in). Only the behaviour integration scripts rely on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol


class _Undefined:
    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED = _Undefined()


class JSFunction:
    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn

    def __call__(self, *args: Any) -> Any:
        return self.fn(*args)


def js_str(value: Any) -> str:
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list):
        return ",".join("" if v is None or v is UNDEFINED else js_str(v) for v in value)
    if isinstance(value, dict):
        return "[object Object]"
    if isinstance(value, JSFunction):
        return "function () { [native code] }"
    return str(value)


def js_truthy(value: Any) -> bool:
    if value is UNDEFINED or value is None:
        return False
    if isinstance(value, str | int | float | bool):
        return bool(value) and value == value  # NaN is falsy
    return True


def _string_method(text: str, name: str) -> JSFunction | Any:
    methods: dict[str, Callable[..., Any]] = {
        "trim": lambda: text.strip(),
        "toLowerCase": lambda: text.lower(),
        "toUpperCase": lambda: text.upper(),
        "replace": lambda old, new="undefined": text.replace(js_str(old), js_str(new), 1),
        "replaceAll": lambda old, new="undefined": text.replace(js_str(old), js_str(new)),
        "split": lambda sep=UNDEFINED: [text] if sep is UNDEFINED else text.split(js_str(sep)),
        "startsWith": lambda prefix: text.startswith(js_str(prefix)),
        "endsWith": lambda suffix: text.endswith(js_str(suffix)),
        "includes": lambda part: js_str(part) in text,
        "indexOf": lambda part: text.find(js_str(part)),
        "slice": lambda start=0, end=None: text[int(start) : None if end is None else int(end)],
        "substring": lambda start=0, end=None: text[int(start) : None if end is None else int(end)],
        "toString": lambda: text,
    }
    if name == "length":
        return len(text)
    return JSFunction(methods[name]) if name in methods else UNDEFINED


def _array_method(items: list[Any], name: str) -> JSFunction | Any:
    methods: dict[str, Callable[..., Any]] = {
        "join": lambda sep=",": js_str(sep).join(js_str(i) for i in items),
        "includes": lambda item: item in items,
        "indexOf": lambda item: items.index(item) if item in items else -1,
    }
    if name == "length":
        return len(items)
    return JSFunction(methods[name]) if name in methods else UNDEFINED


def js_get(obj: Any, key: Any) -> Any:
    if obj is None or obj is UNDEFINED:
        raise TypeError(f"Cannot read properties of {js_str(obj)} (reading '{js_str(key)}')")
    name = js_str(key)
    if isinstance(obj, dict):
        return obj.get(name, UNDEFINED)
    if isinstance(obj, str):
        return _string_method(obj, name)
    if isinstance(obj, list):
        if isinstance(key, int | float) and 0 <= int(key) < len(obj):
            return obj[int(key)]
        return _array_method(obj, name)
    return UNDEFINED


def _plus(left: Any, right: Any) -> Any:
    if isinstance(left, str | dict | list) or isinstance(right, str | dict | list):
        return js_str(left) + js_str(right)
    return _num(left) + _num(right)


def _num(value: Any) -> float | int:
    if value is None or value is False:
        return 0
    if value is True:
        return 1
    if isinstance(value, int | float):
        return value
    try:
        return float(js_str(value)) if js_str(value).strip() else 0
    except ValueError:
        return float("nan")


def _strict_equal(left: Any, right: Any) -> bool:
    if type(left) is not type(right) and not (
        isinstance(left, int | float) and isinstance(right, int | float)
    ):
        return False
    return bool(left is right or left == right)


def _loose_equal(left: Any, right: Any) -> bool:
    if left in (None, UNDEFINED) or right in (None, UNDEFINED):
        return left in (None, UNDEFINED) and right in (None, UNDEFINED)
    if isinstance(left, str) and isinstance(right, str):
        return left == right
    return _num(left) == _num(right) if not isinstance(left, dict | list) else left is right


BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": _plus,
    "-": lambda a, b: _num(a) - _num(b),
    "*": lambda a, b: _num(a) * _num(b),
    "/": lambda a, b: _num(a) / _num(b) if _num(b) else float("inf"),
    "===": _strict_equal,
    "!==": lambda a, b: not _strict_equal(a, b),
    "==": _loose_equal,
    "!=": lambda a, b: not _loose_equal(a, b),
    "<": lambda a, b: _num(a) < _num(b),
    ">": lambda a, b: _num(a) > _num(b),
    "<=": lambda a, b: _num(a) <= _num(b),
    ">=": lambda a, b: _num(a) >= _num(b),
}


class Evaluator(Protocol):
    scope: dict[str, Any]

    def eval(self, node: tuple[Any, ...]) -> Any: ...


def _typeof(value: Any) -> str:
    if value is UNDEFINED:
        return "undefined"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "function" if isinstance(value, JSFunction) else "object"


def evaluate(ev: Evaluator, node: tuple[Any, ...]) -> Any:  # noqa: C901 - one switch
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "name":
        if node[1] not in ev.scope:
            raise NameError(f"{node[1]} is not defined")
        return ev.scope[node[1]]
    if kind == "member":
        return js_get(ev.eval(node[1]), ev.eval(node[2]))
    if kind == "call":
        fn = ev.eval(node[1])
        if not isinstance(fn, JSFunction):
            raise TypeError("not a function")
        return fn(*[ev.eval(a) for a in node[2]])
    if kind == "bin":
        op, left = node[1], ev.eval(node[2])
        if op == "&&":
            return ev.eval(node[3]) if js_truthy(left) else left
        if op == "||":
            return left if js_truthy(left) else ev.eval(node[3])
        return BINARY[op](left, ev.eval(node[3]))
    if kind == "not":
        return not js_truthy(ev.eval(node[1]))
    if kind == "neg":
        return -_num(ev.eval(node[1]))
    if kind == "typeof":
        return _typeof(
            ev.eval(node[1]) if node[1][0] != "name" else ev.scope.get(node[1][1], UNDEFINED)
        )
    if kind == "cond":
        return ev.eval(node[2]) if js_truthy(ev.eval(node[1])) else ev.eval(node[3])
    if kind == "template":
        return "".join(js_str(ev.eval(part)) for part in node[1])
    if kind == "array":
        return [ev.eval(item) for item in node[1]]
    if kind == "object":
        return _object(ev, node[1])
    if kind == "assign":
        return _assign(ev, node[1], ev.eval(node[2]))
    raise TypeError(f"unsupported node {kind}")


def _object(ev: Evaluator, entries: list[tuple[Any, ...]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for entry in entries:
        if entry[0] == "spread":
            value = ev.eval(entry[1])
            if isinstance(value, dict):
                result.update(value)
        else:
            result[entry[1]] = ev.eval(entry[2])
    return result


def _assign(ev: Evaluator, target: tuple[Any, ...], value: Any) -> Any:
    if target[0] == "name":
        ev.scope[target[1]] = value
        return value
    obj = ev.eval(target[1])
    if not isinstance(obj, dict):
        raise TypeError(f"Cannot set properties of {js_str(obj)}")
    obj[js_str(ev.eval(target[2]))] = value
    return value


def to_plain(value: Any) -> Any:
    """A script result as JSON-able Python (undefined properties dropped, like JSON.stringify)."""
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items() if v is not UNDEFINED}
    if isinstance(value, list):
        return [None if v is UNDEFINED else to_plain(v) for v in value]
    if isinstance(value, JSFunction):
        return None
    return value


def dumps(value: Any) -> str:
    return json.dumps(to_plain(value), separators=(",", ":"))
