"""The integration-script subset: the seed's script, the provisioning script, JS semantics."""

from __future__ import annotations

from typing import Any

import pytest

from tests.rocketchat_server import jsscript
from tests.rocketchat_server.jsvalues import UNDEFINED, to_plain

REQUEST: dict[str, Any] = {
    "params": {},
    "method": "POST",
    "url": "http://atsd:8088/api/v1/messages/webhook/rocket.chat?command.message=text",
    "data": {"token": "t", "bot": False, "text": "disk full & hot", "user_name": "jane"},
    "auth": UNDEFINED,
    "headers": {"User-Agent": "UA"},
}


def prepare(script: str, request: dict[str, Any] | None = None) -> Any:
    methods = jsscript.compile_script(script)
    result = jsscript.run(methods, "prepare_outgoing_request", {"request": request or REQUEST})
    return to_plain(result)


def test_provisioning_script_with_escaped_credentials() -> None:
    from scripts.create_outgoing_integration import script_for

    script = script_for("hook", 'p"ä😀\\w')
    result = prepare(script)
    assert result == {
        "url": REQUEST["url"], "method": "POST", "auth": 'hook:p"ä😀\\w',
        "headers": {"User-Agent": "UA"}, "data": REQUEST["data"], "content": REQUEST["data"],
    }  # fmt: skip


def test_seed_script_concatenates_without_encoding() -> None:
    seed = """class Script {
        prepare_outgoing_request({ request }) {
            return { url: request.url + '?message=' + request.data.text + '&exclude=text',
                     method: 'POST', auth: 'user:password', content: request.data }
        }
    }"""
    result = prepare(seed)
    assert result["url"].endswith("?command.message=text?message=disk full & hot&exclude=text")
    assert "headers" not in result and "data" not in result


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("encodeURIComponent('a b&c/ä')", "a%20b%26c%2F%C3%A4"),
        ("encodeURI('http://x/a b?q=1&r=ä')", "http://x/a%20b?q=1&r=%C3%A4"),
        ("'n=' + 1 + 2", "n=12"),
        ("1 + 2 + 'x'", "3x"),
        ("`${request.data.user_name}:${request.data.bot}`", "jane:false"),
        ("request.data.missing", None),
        ("request.data.missing === undefined && !request.data.bot", True),
        ("request.data.text.length > 3 ? 'long' : 'short'", "long"),
        ("request.data.text.split(' ')[0].toUpperCase()", "DISK"),
        ("typeof request.data.token", "string"),
        ("request.data.bot || 'fallback'", "fallback"),
        ("JSON.stringify({a: [1, 'b']})", '{"a":[1,"b"]}'),
        ("null == undefined", True),
        ("'5' == 5 && '5' !== 5", True),
        ("[1, 2].join('-')", "1-2"),
        ("String(null) + String(undefined)", "nullundefined"),
    ],
)
def test_expressions(expression: str, value: Any) -> None:
    script = "class Script { prepare_outgoing_request({ request }) { return { v: %s }; } }"
    assert prepare(script % expression).get("v") == value


def test_statements_if_else_assignment_and_spread() -> None:
    script = """
    // comments and /* blocks */ are fine
    class Script {
      prepare_outgoing_request({ request }) {
        let url = request.url;
        if (request.data.bot) { return null; } else if (request.data.text) url += '';
        request.headers['X-Extra'] = 'yes';
        const out = { ...request, url: url + '&x=' + encodeURIComponent(request.data.text) };
        console.log('prepared', out);
        return out;
      }
    }"""
    result = prepare(script)
    assert result["headers"] == {"User-Agent": "UA", "X-Extra": "yes"}
    assert result["url"].endswith("&x=disk%20full%20%26%20hot")
    assert prepare(script, {**REQUEST, "data": {**REQUEST["data"], "bot": True}}) is None


@pytest.mark.parametrize(
    "body",
    [
        "for (;;) {}",
        "while (true) {}",
        "return new Date();",
        "return function () {};",
        "return this.x;",
        "return request.data.text.match(/x/);",
    ],
)
def test_unsupported_constructs_are_refused_at_compile_time(body: str) -> None:
    with pytest.raises(jsscript.ScriptError):
        source = "class Script { prepare_outgoing_request({ request }) { BODY } }"
        jsscript.compile_script(source.replace("BODY", body))


def test_runtime_errors_become_script_errors() -> None:
    script = (
        "class Script { prepare_outgoing_request({ request }) { return request.nope.deeper; } }"
    )
    with pytest.raises(jsscript.ScriptError, match="Cannot read properties of undefined"):
        prepare(script)
    missing = "class Script { prepare_outgoing_request({ request }) { return nothing; } }"
    with pytest.raises(jsscript.ScriptError, match="nothing is not defined"):
        prepare(missing)


def test_scripts_without_the_method_or_class() -> None:
    assert jsscript.run(jsscript.compile_script("class Script { other() { return 1; } }"),
                        "prepare_outgoing_request", {}) is UNDEFINED  # fmt: skip
    with pytest.raises(jsscript.ScriptError):
        jsscript.compile_script("const x = 1;")
