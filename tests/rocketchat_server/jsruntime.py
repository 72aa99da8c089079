"""Running a compiled integration script (see jsscript.py): scope, built-ins, statements."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, unquote

from tests.rocketchat_server.jsscript import ScriptError
from tests.rocketchat_server.jsvalues import UNDEFINED, JSFunction, evaluate, js_str, js_truthy


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


def _encode_component(value: Any = UNDEFINED) -> str:
    return quote(js_str(value), safe="-_.!~*'()")


def _encode_uri(value: Any = UNDEFINED) -> str:
    return quote(js_str(value), safe=";,/?:@&=+$-_.!~*'()#")


def _number(value: Any = 0) -> float | int:
    try:
        number = float(js_str(value)) if not isinstance(value, int | float) else value
    except ValueError:
        return float("nan")
    return int(number) if float(number).is_integer() else number


def _noop(*_: Any) -> Any:
    return UNDEFINED


GLOBALS: dict[str, Any] = {
    "encodeURIComponent": JSFunction(_encode_component),
    "encodeURI": JSFunction(_encode_uri),
    "decodeURIComponent": JSFunction(lambda v=UNDEFINED: unquote(js_str(v))),
    "String": JSFunction(lambda v="": js_str(v)),
    "Number": JSFunction(_number),
    "JSON": {
        "stringify": JSFunction(lambda v=UNDEFINED, *_: json.dumps(v, separators=(",", ":"))),
        "parse": JSFunction(lambda v="": json.loads(js_str(v))),
    },
    "console": {name: JSFunction(_noop) for name in ("log", "info", "warn", "error", "debug")},
}


def run_method(methods: dict[str, tuple[Any, ...]], name: str, argument: dict[str, Any]) -> Any:
    """Call `Script#<name>(argument)`; UNDEFINED when the method does not exist."""
    if name not in methods:
        return UNDEFINED
    (style, params), body = methods[name]
    scope: dict[str, Any] = dict(GLOBALS)
    if style == "destructure":
        scope.update({p: argument.get(p, UNDEFINED) for p in params})
    elif style == "plain":
        scope[params[0]] = argument
    try:
        for statement in body:
            _Interpreter(scope).execute(statement)
    except _Return as result:
        return result.value
    except (ScriptError, RecursionError):
        raise
    except Exception as error:  # a JS TypeError and friends
        raise ScriptError(f"{type(error).__name__}: {error}") from None
    return UNDEFINED


class _Interpreter:
    def __init__(self, scope: dict[str, Any]) -> None:
        self.scope = scope

    def execute(self, node: tuple[Any, ...]) -> None:
        kind = node[0]
        if kind == "let":
            self.scope[node[1]] = self.eval(node[2])
        elif kind == "return":
            raise _Return(self.eval(node[1]))
        elif kind == "if":
            self.execute(node[2] if js_truthy(self.eval(node[1])) else node[3])
        elif kind == "block":
            for statement in node[1]:
                self.execute(statement)
        elif kind == "expr":
            self.eval(node[1])

    def eval(self, node: tuple[Any, ...]) -> Any:
        return evaluate(self, node)
