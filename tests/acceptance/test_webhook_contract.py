"""spec/webhook.md, sentence by sentence, against a running ``atsd-bot serve``."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests

from tests.acceptance.conftest import HOOK, LIMITED, TOKEN, Served

W = "/api/v1/messages/webhook"
RC = {"token": TOKEN, "bot": False, "channel_id": "ZpMw6XxSuZdpupcDa",
      "channel_name": "THANG-TEST-2", "message_id": "QSGJ9YqFkXuinmHAt",
      "timestamp": "2021-03-18T03:37:15.725Z", "user_id": "zk8ei6fZYTxnNdbWg",
      "user_name": "thangtm13", "text": "hi", "siteUrl": "http://localhost:3006/"}


def rc(**kw: Any) -> dict[str, Any]:
    return {**RC, **kw}


# --- Endpoint -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [W, f"{W}/rocket.chat", f"{W}/ci/jenkins-1", f"{W}/a.b/c.d"])
def test_post_json_on_every_path(served: Served, path: str) -> None:
    r = served.hook(path + "?entity=e1", json={"a": 1, "token": TOKEN,
                                               "message_id": f"every-{path}"})
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok"}


def test_post_form(served: Served) -> None:
    cmd = served.debug(f"{W}/form?entity=f", data={"Field One": "v", "b": "2"})
    assert cmd["tags"]["field_one"] == "v" and cmd["tags"]["b"] == "2"


def test_get_makes_a_command(served: Served) -> None:
    r = requests.get(served.url(f"{W}/getter?action=started&debug=true"), auth=HOOK, timeout=5)
    assert r.status_code == 200, r.text
    cmd = r.json()
    assert cmd["entity"] == "getter" and cmd["tags"]["action"] == "started"


def test_path_remainder_with_slashes(served: Served) -> None:
    cmd = served.debug(f"{W}/ci/jenkins-1", json={})
    assert cmd["entity"] == "ci/jenkins-1" and cmd["source"] == "ci/jenkins-1"


# --- Authentication ------------------------------------------------------------------------

def test_no_credentials_is_401_with_basic_challenge(served: Served) -> None:
    r = requests.post(served.url(f"{W}/x"), json={}, timeout=5)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].lower().startswith("basic")


@pytest.mark.parametrize("auth", [("nobody", "x"), (HOOK[0], "wrong")])
def test_bad_credentials_401(served: Served, auth: tuple[str, str]) -> None:
    r = requests.post(served.url(f"{W}/x"), json={}, auth=auth, timeout=5)
    assert r.status_code == 401
    assert "basic" in r.headers.get("WWW-Authenticate", "").lower()
    assert "error" in r.json()


def test_credentials_in_url(served: Served) -> None:
    base = served.base.replace("http://", f"http://{HOOK[0]}:{HOOK[1]}@")
    r = requests.post(f"{base}{W}/inurl?debug=true", json={}, timeout=5)
    assert r.status_code == 200 and r.json()["entity"] == "inurl"


def test_token_mismatch_is_rejected(served: Served) -> None:
    r = served.hook(f"{W}/rocket.chat", json=rc(token="wrong", message_id="tokmis"))
    assert r.status_code in (401, 403)


def test_missing_token_is_rejected(served: Served) -> None:
    body = rc(message_id="tokmissing")
    del body["token"]
    r = served.hook(f"{W}/rocket.chat", json=body)
    assert r.status_code in (401, 403)


def test_token_never_a_tag(served: Served) -> None:
    cmd = served.debug(f"{W}/rocket.chat?message=x", json=rc(message_id="tok-tag"))
    assert "token" not in cmd["tags"]
    assert TOKEN not in json.dumps(cmd)


def test_not_permitted_entity_403(served: Served) -> None:
    r = served.hook(f"{W}/other", auth=LIMITED, json={})
    assert r.status_code == 403
    ok = served.hook(f"{W}/jenkins-2", auth=LIMITED, json={})
    assert ok.status_code == 200


def test_api_user_cannot_write_webhook(served: Served) -> None:
    r = served.hook(f"{W}/x", auth=("api", "api-pass-1"), json={})
    assert r.status_code == 403


# --- The message command -------------------------------------------------------------------

def test_defaults(served: Served) -> None:
    cmd = served.debug(f"{W}/Some.Path", json={})
    assert cmd["type"] == "webhook"
    assert cmd["source"] == "some.path" and cmd["entity"] == "some.path"
    assert cmd["severity"] is None and cmd["message"] == ""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", cmd["date"])
    assert cmd["tags"]["request_ip"] == "127.0.0.1"
    assert set(cmd) >= {"entity", "type", "source", "severity", "date", "message", "tags"}


def test_entity_required(served: Served) -> None:
    r = served.hook(W, json={"a": 1})
    assert r.status_code == 400
    assert "entity" in r.json()["error"]


def test_no_entity_source_empty(served: Served) -> None:
    cmd = served.debug(f"{W}?entity=e", json={})
    assert cmd["source"] == ""


def test_names_lowercased_values_trimmed(served: Served) -> None:
    cmd = served.debug(f"{W}?entity=MyEnt&type=MyType&source=MySrc",
                       json={"Key": "  Value  ", "empty": "  ", "nil": None})
    assert cmd["entity"] == "myent" and cmd["type"] == "mytype" and cmd["source"] == "mysrc"
    assert cmd["tags"]["key"] == "Value"
    assert "empty" not in cmd["tags"] and "nil" not in cmd["tags"]


def test_too_many_tags_400(served: Served) -> None:
    body = {f"k{i}": "v" for i in range(1030)}
    r = served.hook(f"{W}/many", json=body)
    assert r.status_code == 400 and "tag" in r.json()["error"]


def test_1023_tags_plus_request_ip_ok(served: Served) -> None:
    body = {f"k{i}": "v" for i in range(1023)}
    r = served.hook(f"{W}/many", json=body)
    assert r.status_code == 200, r.text


def test_trusted_proxy_forwarded_ip_not_trusted_from_loopback(served: Served) -> None:
    cmd = served.debug(f"{W}/ip", json={}, headers={"X-Forwarded-For": "1.2.3.4"})
    assert cmd["tags"]["request_ip"] == "127.0.0.1"


def test_request_ip_survives_exclude(served: Served) -> None:
    cmd = served.debug(f"{W}/ip?exclude=*&excludeValues=*", json={"a": "b"})
    assert cmd["tags"] == {"request_ip": "127.0.0.1"}


# --- Tags from the request -----------------------------------------------------------------

def test_query_params_become_tags(served: Served) -> None:
    cmd = served.debug(f"{W}?entity=test-1&action=started&Repeat=1")
    assert cmd["entity"] == "test-1"
    assert cmd["tags"]["action"] == "started" and cmd["tags"]["repeat"] == "1"
    assert "entity" not in cmd["tags"] and "debug" not in cmd["tags"]


def test_param_name_whitespace_to_underscore(served: Served) -> None:
    cmd = served.debug(f"{W}/p?My%20Key=1&tab%09x=2")
    assert cmd["tags"]["my_key"] == "1" and cmd["tags"]["tab_x"] == "2"


def test_json_flattening(served: Served) -> None:
    body = {"repository": {"Full Name": "x", "authors": ["a", "b"]}, "n": 1.50, "t": True,
            "f": False, "q": "'quoted'", "dq": '"dq"', "e": {}, "ea": []}
    cmd = served.debug(f"{W}/flat", json=body)
    t = cmd["tags"]
    assert t["repository.full_name"] == "x"
    assert t["repository.authors[0]"] == "a" and t["repository.authors[1]"] == "b"
    assert t["t"] == "true" and t["f"] == "false"
    assert t["q"] == "quoted" and t["dq"] == "dq"
    assert not any(k.startswith(("e", "ea")) and k not in ("e",) for k in t if k in ("e", "ea"))
    assert "e" not in t and "ea" not in t


def test_numbers_keep_json_text(served: Served) -> None:
    raw = '{"n": 1.50, "big": 12345678901234567890, "exp": 1e3}'
    cmd = served.debug(f"{W}/num", data=raw, headers={"Content-Type": "application/json"})
    assert cmd["tags"]["n"] == "1.50"
    assert cmd["tags"]["big"] == "12345678901234567890"
    assert cmd["tags"]["exp"] == "1e3"


def test_mismatched_quotes_kept(served: Served) -> None:
    cmd = served.debug(f"{W}/q", json={"a": "'x\"", "b": "'"})
    assert cmd["tags"]["a"] == "'x\"" and cmd["tags"]["b"] == "'"


def test_invalid_json_400(served: Served) -> None:
    r = served.hook(f"{W}/bad", data="{not json",
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]


def test_top_level_array(served: Served) -> None:
    cmd = served.debug(f"{W}/arr", json=[{"a": 1}, "b"])
    assert cmd["tags"]["[0].a"] == "1" and cmd["tags"]["[1]"] == "b"


# --- Reserved parameters -------------------------------------------------------------------

def test_literal_reserved(served: Served) -> None:
    cmd = served.debug(f"{W}/lit?type=T1&source=S1&entity=E1&message=Hello%20World"
                       "&severity=major&date=2016-06-24T20:00:45%2B0200")
    assert (cmd["type"], cmd["source"], cmd["entity"]) == ("t1", "s1", "e1")
    assert cmd["message"] == "Hello World" and cmd["severity"] == "MAJOR"
    assert cmd["date"] == "2016-06-24T18:00:45.000Z"
    for name in ("type", "source", "entity", "message", "severity", "date"):
        assert name not in cmd["tags"]


def test_command_fields(served: Served) -> None:
    body = {"ev": {"kind": "Build"}, "src": "Jenkins", "host": "h1", "txt": "done",
            "sev": "critical", "when": "2016-06-09T16:15:04.005Z"}
    cmd = served.debug(f"{W}/c?command.type=ev.kind&command.source=src&command.entity=host"
                       "&command.message=txt&command.severity=sev&command.date=when", json=body)
    assert cmd["type"] == "build" and cmd["source"] == "jenkins" and cmd["entity"] == "h1"
    assert cmd["message"] == "done" and cmd["severity"] == "CRITICAL"
    assert cmd["date"] == "2016-06-09T16:15:04.005Z"
    # fields taken by command.* stay tags
    assert cmd["tags"]["txt"] == "done" and cmd["tags"]["host"] == "h1"


def test_command_field_case_insensitive_name(served: Served) -> None:
    cmd = served.debug(f"{W}/c?command.message=Text", json={"Text": "hi"})
    assert cmd["message"] == "hi"


def test_date_pattern_seconds_ms(served: Served) -> None:
    cmd = served.debug(f"{W}/d?command.date=t&datetimePattern=seconds", json={"t": 1465488904})
    assert cmd["date"] == "2016-06-09T16:15:04.000Z"
    cmd = served.debug(f"{W}/d?command.date=t&datetimePattern=milliseconds",
                       json={"t": 1465488904005})
    assert cmd["date"] == "2016-06-09T16:15:04.005Z"
    assert "datetimepattern" not in cmd["tags"]


def test_date_pattern_custom(served: Served) -> None:
    cmd = served.debug(f"{W}/d?command.date=t&datetimePattern=yyyy-MM-dd%20HH:mm:ssZ",
                       json={"t": "2016-06-09 16:15:04+0000"})
    assert cmd["date"] == "2016-06-09T16:15:04.000Z"


def test_headers(served: Served) -> None:
    h = {"X-Ent": "HostA", "X-Type": "Alarm", "X-Src": "Zab", "X-Msg": "hello",
         "X-Sev": "warn", "X-Date": "2016-06-09T16:15:04.005Z", "X-Team": "ops"}
    cmd = served.debug(f"{W}/h?header.entity=X-Ent&header.type=x-type&header.source=X-Src"
                       "&header.message=X-Msg&header.severity=X-Sev&header.date=X-Date"
                       "&header.tag.team=X-Team", json={}, headers=h)
    assert cmd["entity"] == "hosta" and cmd["type"] == "alarm" and cmd["source"] == "zab"
    assert cmd["message"] == "hello" and cmd["severity"] == "WARNING"
    assert cmd["date"] == "2016-06-09T16:15:04.005Z"
    assert cmd["tags"]["team"] == "ops"


def test_precedence(served: Served) -> None:
    body = {"m": "from-body"}
    h = {"X-Msg": "from-header"}
    cmd = served.debug(f"{W}/p?message=literal&command.message=m&header.message=X-Msg",
                       json=body, headers=h)
    assert cmd["message"] == "literal"
    cmd = served.debug(f"{W}/p?command.message=m&header.message=X-Msg", json=body, headers=h)
    assert cmd["message"] == "from-body"
    cmd = served.debug(f"{W}/p?command.message=absent&header.message=X-Msg",
                       json=body, headers=h)
    assert cmd["message"] == "from-header"
    cmd = served.debug(f"{W}/p?command.message=absent&header.message=X-None", json=body)
    assert cmd["message"] == ""
    cmd = served.debug(f"{W}/p?command.entity=absent", json=body)
    assert cmd["entity"] == "p"


def test_filters(served: Served) -> None:
    body = {"keep": "1", "drop_a": "x", "drop_b": "secretval", "other": "SecretVal2", "z": "q"}
    cmd = served.debug(f"{W}/f?exclude=drop_*;z&excludeValues=secret*&include=drop_b",
                       json=body)
    t = cmd["tags"]
    assert "drop_a" not in t and "z" not in t
    # names match case-insensitively; values as written (decision documented in README)
    assert t["other"] == "SecretVal2"
    assert t["keep"] == "1"
    # include keeps drop_b against exclude, but excludeValues still drops it
    assert "drop_b" not in t


def test_filters_repeatable_and_include_values(served: Served) -> None:
    body = {"a": "x1", "b": "y1", "c": "x2"}
    cmd = served.debug(f"{W}/f?excludeValues=x*&excludeValues=y?&includeValues=x2", json=body)
    assert cmd["tags"].get("c") == "x2" and "a" not in cmd["tags"] and "b" not in cmd["tags"]


def test_include_undoes_exclude(served: Served) -> None:
    cmd = served.debug(f"{W}/f?exclude=*&include=KEEP", json={"keep": "1", "drop": "2"})
    assert cmd["tags"] == {"keep": "1", "request_ip": "127.0.0.1"}


def test_json_parse(served: Served) -> None:
    inner = json.dumps({"a": {"B": 1}, "c": "d"})
    cmd = served.debug(f"{W}/jp?json.parse=Payload", data={"Payload": inner})
    assert cmd["tags"]["payload.a.b"] == "1" and cmd["tags"]["payload.c"] == "d"
    assert "payload" not in cmd["tags"]
    cmd = served.debug(f"{W}/jp?json.parse=p", json={"p": inner})
    assert cmd["tags"]["p.a.b"] == "1" and "p" not in cmd["tags"]


def test_json_parse_query_param(served: Served) -> None:
    inner = json.dumps({"x": "y"})
    cmd = served.debug(f"{W}/jp", params={"json.parse": "q", "q": inner})
    assert cmd["tags"]["q.x"] == "y"


def test_json_parse_invalid_400(served: Served) -> None:
    r = served.hook(f"{W}/jp?json.parse=p", json={"p": "{bad"})
    assert r.status_code == 400


# --- Severity ------------------------------------------------------------------------------

@pytest.mark.parametrize(("given", "name"), [
    ("0", "UNDEFINED"), ("1", "UNKNOWN"), ("2", "NORMAL"), ("info", "NORMAL"),
    ("3", "WARNING"), ("WARN", "WARNING"), ("4", "MINOR"), ("5", "MAJOR"),
    ("6", "CRITICAL"), ("Error", "CRITICAL"), ("7", "FATAL"), ("fatal", "FATAL"),
    ("undefined", "UNDEFINED"), ("unknown", "UNKNOWN"), ("normal", "NORMAL"),
])
def test_severity_table(served: Served, given: str, name: str) -> None:
    cmd = served.debug(f"{W}/sev?severity={given}")
    assert cmd["severity"] == name


@pytest.mark.parametrize("bad", ["8", "-1", "loud", "2.5"])
def test_severity_unknown_400(served: Served, bad: str) -> None:
    r = served.hook(f"{W}/sev?severity={bad}")
    assert r.status_code == 400 and "severity" in r.json()["error"].lower()


def test_command_severity_number(served: Served) -> None:
    cmd = served.debug(f"{W}/sev?command.severity=s", json={"s": 6})
    assert cmd["severity"] == "CRITICAL"


# --- Dates -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("given", "iso"), [
    ("2016-06-09T16:15:04.005Z", "2016-06-09T16:15:04.005Z"),
    ("2016-06-24T20:00:45+0200", "2016-06-24T18:00:45.000Z"),
    ("2016-06-24T20:00:45.003000005+00:00", "2016-06-24T20:00:45.003Z"),
])
def test_dates(served: Served, given: str, iso: str) -> None:
    cmd = served.debug(f"{W}/date", params={"date": given})
    assert cmd["date"] == iso


@pytest.mark.parametrize("bad", ["2016-06-24T20:00:45", "2016-06-24T20:00Z",
                                 "2016-06-24 20:00:45Z", "yesterday", "2016-13-01T00:00:00Z"])
def test_bad_dates_400(served: Served, bad: str) -> None:
    r = served.hook(f"{W}/date", params={"date": bad})
    assert r.status_code == 400, r.text
    assert "date" in r.json()["error"].lower()


def test_bad_command_date_400(served: Served) -> None:
    r = served.hook(f"{W}/date?command.date=d", json={"d": "2016-06-24 20:00:45"})
    assert r.status_code == 400


# --- Responses ------------------------------------------------------------------------------

def test_body_too_large_413(served: Served) -> None:
    r = served.hook(f"{W}/big", data=b"x" * 70000,
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
    assert "error" in r.json()


@pytest.mark.parametrize(("data", "ctype"), [
    (b"\xff\xfe\x00", "application/json"),
    (b"a=%ZZ&b", "application/x-www-form-urlencoded"),
    (b"<xml/>", "text/xml"),
    (b'{"a": ' * 5000, "application/json"),
    (b"[" * 100000, "application/json"),
    (b'"just a string"', "application/json"),
    (b"null", "application/json"),
    (b"", "application/json"),
])
def test_odd_bodies_never_500(served: Served, data: bytes, ctype: str) -> None:
    r = served.hook(f"{W}/odd", data=data, headers={"Content-Type": ctype})
    assert r.status_code < 500, r.text
    assert r.headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("query", ["severity=", "date=", "datetimePattern=bogus&command.date=d",
                                   "json.parse=", "exclude=", "debug=maybe",
                                   "command.date=d&datetimePattern=seconds", "%ff=1",
                                   "header.tag.=X"])
def test_odd_queries_never_500(served: Served, query: str) -> None:
    r = served.hook(f"{W}/oddq?{query}", json={"d": "abc"})
    assert r.status_code < 500, r.text


def test_rocketchat_once_only(served: Served) -> None:
    body = rc(message_id="once-1", text="once")
    url = f"{W}/rocket.chat?command.message=text&exclude=text"
    first = served.hook(url, json=body)
    assert first.status_code == 200 and first.text.strip()
    again = served.hook(url + "&debug=true", json=body)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True and again.json()["message"] == "once"
    found = served.api("/api/v1/messages/query",
                       [{"entity": "rocket.chat", "startDate": "2000-01-01T00:00:00Z",
                         "endDate": "2100-01-01T00:00:00Z",
                         "tags": {"message_id": "once-1"}}])
    assert found.status_code == 200 and len(found.json()) == 1


def test_rocketchat_edit_is_new(served: Served) -> None:
    url = f"{W}/rocket.chat?command.message=text&debug=true"
    a = served.hook(url, json=rc(message_id="edit-1", text="v1"))
    b = served.hook(url, json=rc(message_id="edit-1", text="v2",
                                 isEdited=True))
    assert a.status_code == b.status_code == 200
    assert "duplicate" not in b.json() or b.json()["duplicate"] is False


def test_rocketchat_seed_case(served: Served) -> None:
    text = "hello"
    cmd = served.debug(f"{W}/rocket.chat?message={text}&exclude=text",
                       json=rc(message_id="seed-1", alias="Al"))
    assert cmd["entity"] == "rocket.chat" and cmd["source"] == "rocket.chat"
    assert cmd["type"] == "webhook" and cmd["message"] == text
    t = cmd["tags"]
    for name in ("channel_id", "channel_name", "message_id", "timestamp", "user_id",
                 "user_name", "alias", "bot", "siteurl", "request_ip"):
        assert name in t, name
    assert "text" not in t and "token" not in t
    assert t["bot"] == "false" and t["channel_name"] == "THANG-TEST-2"


def test_seed_forms_same_command(served: Served) -> None:
    a = served.debug(f"{W}/rocket.chat?message=plain%20text&exclude=text",
                     json=rc(message_id="same-a", text="plain text"))
    b = served.debug(f"{W}/rocket.chat?command.message=text&exclude=text",
                     json=rc(message_id="same-b", text="plain text"))
    for cmd in (a, b):
        cmd.pop("date")
        cmd["tags"].pop("message_id")
    assert a == b


def test_encoded_special_chars(served: Served) -> None:
    cmd = served.debug(f"{W}/rocket.chat?command.message=text&exclude=text",
                       json=rc(message_id="spec-1", text="a & b #c 100%"))
    assert cmd["message"] == "a & b #c 100%"


def test_loop_guard_bot_true(served: Served) -> None:
    r = served.hook(f"{W}/rocket.chat?command.message=text",
                    json=rc(message_id="bot-1", bot=True, text="from bot"))
    assert r.status_code == 200 and r.text.strip()
    assert "text" not in r.json()


def test_loop_guard_bot_object(served: Served) -> None:
    r = served.hook(f"{W}/rocket.chat?command.message=text",
                    json=rc(message_id="bot-2", bot={"i": "x"}, text="from bot"))
    assert r.status_code == 200 and r.text.strip()


def test_non_empty_200(served: Served) -> None:
    r = served.hook(f"{W}/rocket.chat?command.message=text",
                    json=rc(message_id="ne-1", text="anything"))
    assert r.status_code == 200 and r.json() is not None and r.content.strip() != b""


def test_head_and_put_not_500(served: Served) -> None:
    for method in ("PUT", "DELETE", "PATCH", "HEAD"):
        r = requests.request(method, served.url(f"{W}/m"), auth=HOOK, timeout=5)
        assert r.status_code in (405, 404, 400), (method, r.status_code)


def test_duplicate_debug_is_the_stored_command(served: Served) -> None:
    url = f"{W}/rocket.chat?command.message=text&exclude=text&debug=true"
    body = rc(message_id="dup-stored-1", text="same")
    first = served.hook(url, json=body).json()
    second = served.hook(url, json=body).json()
    assert second.pop("duplicate") is True
    assert second == first  # the stored command, first receipt's date included


def test_duplicate_debug_other_content_not_revealed(served: Served) -> None:
    url = f"{W}/rocket.chat?command.message=text&exclude=text&debug=true"
    served.hook(url, json=rc(message_id="dup-priv-1", text="private words"))
    other = served.hook(url, json=rc(message_id="dup-priv-1", text="guess"))
    assert other.json()["duplicate"] is True and "private words" not in other.text


def test_unencoded_plus_zone_in_url(served: Served) -> None:
    # requests leaves a literal '+' in the URL as it is; the server decodes it to a space
    cmd = served.debug(f"{W}/date?date=2016-06-24T20:00:45+0200")
    assert cmd["date"] == "2016-06-24T18:00:45.000Z"
    cmd = served.debug(f"{W}/date?date=2016-06-24T20:00:45.003+02:00")
    assert cmd["date"] == "2016-06-24T18:00:45.003Z"


def test_refusals_that_are_not_guesses_do_not_lock_the_address_out(served: Served) -> None:
    # a client's first try without credentials, a user without the role, an entity the user
    # may not write: each refused and recorded, none a password guess, so no 429 follows
    for _ in range(6):
        assert requests.post(served.url(f"{W}/nocred"), json={}, timeout=5).status_code == 401
        assert served.hook(f"{W}/other", auth=LIMITED, json={}).status_code == 403
        assert served.api("/api/v1/messages/query", [], auth=HOOK).status_code == 403
    assert served.hook(f"{W}/after", json={}).status_code == 200


def test_source_rocket_chat_on_another_path_gets_the_rocket_chat_rules(served: Served) -> None:
    # spec: "webhook requests whose source is rocket.chat, or another path configured as
    # Rocket.Chat": the source alone makes it a Rocket.Chat message
    url = f"{W}/chat-relay?source=rocket.chat&command.message=text"
    body = {"bot": False, "message_id": "relay-1", "user_name": "amy", "text": "hi"}
    assert served.hook(url, json=body).json() == {"status": "ok"}
    assert served.hook(url, json=body).json() == {"status": "duplicate"}
    looped = served.hook(url, json={**body, "message_id": "relay-2", "bot": True}).json()
    assert looped["status"] == "ignored"
    # a path that is not Rocket.Chat's, with another source, is not deduplicated
    other = f"{W}/plain?command.message=text"
    assert served.hook(other, json=body).json() == {"status": "ok"}
    assert served.hook(other, json=body).json() == {"status": "ok"}


def test_real_fixtures_through_both_url_forms(served: Served) -> None:
    from pathlib import Path

    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "rocketchat"
    for name in ("outgoing-webhook-sendmessage.json",
                 "outgoing-webhook-sendmessage-media-message.json"):
        body = json.loads((fixtures / name).read_text())
        text = body["text"]
        a = served.debug(f"{W}/rocket.chat?command.message=text&exclude=text", json=body)
        b = served.debug(f"{W}/rocket.chat?exclude=text", params={"message": text},
                         json={**body, "message_id": body["message_id"] + "-b"})
        assert a["message"] == b["message"] == text
        assert a["entity"] == "rocket.chat" and "token" not in a["tags"]
        assert a["tags"]["siteurl"] == body["siteUrl"]
        assert a["tags"]["timestamp"] == body["timestamp"]


def test_rejected_requests_create_no_message(served: Served) -> None:
    requests.post(served.url(f"{W}/rejected-ent"), json={"a": 1}, timeout=5)
    served.hook(f"{W}/rejected-ent", auth=LIMITED, json={"a": 1})
    served.hook(f"{W}/rejected-ent?severity=loud", json={"a": 1})
    found = served.api("/api/v1/messages/query",
                       [{"entity": "rejected-ent", "startDate": "2000-01-01T00:00:00Z",
                         "endDate": "now"}])
    assert found.status_code == 200 and found.json() == []


def test_concurrent_requests_once_only_and_all_stored(served: Served) -> None:
    from concurrent.futures import ThreadPoolExecutor

    url = f"{W}/rocket.chat?command.message=text&exclude=text"

    def same(_: int) -> dict[str, Any]:
        r = served.hook(url, json=rc(message_id="conc-same", text="c"))
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()
        return result

    def distinct(i: int) -> int:
        r = served.hook(f"{W}/conc-ent?i={i}", json={"n": i})
        return r.status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(same, range(24)))
        codes = list(pool.map(distinct, range(120)))
    assert sum(a.get("status") == "ok" for a in answers) == 1
    assert sum(a.get("status") == "duplicate" for a in answers) == 23
    assert codes == [200] * 120
    rows = served.api("/api/v1/messages/query", [{"entity": "conc-ent", "startDate":
                                                  "2000-01-01T00:00:00Z", "endDate": "now",
                                                  "limit": 0}]).json()
    assert sorted(int(m["tags"]["i"]) for m in rows) == list(range(120))
