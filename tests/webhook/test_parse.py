"""parse_request: every example of spec/webhook.md and of ATSD's webhook documentation."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from rules.command import MessageCommand, Severity
from tests.webhook.conftest import rc_payload
from webhook.errors import ApiError
from webhook.parse import RawRequest, client_ip, parse_query, parse_request

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
PREFIX = "/api/v1/messages/webhook"


def raw(url: str, body: Any = None, *, content_type: str | None = None,
        headers: dict[str, str] | None = None, addr: str = "192.0.2.1") -> RawRequest:
    parts = urlsplit(url)
    rest = parts.path[len(PREFIX):].lstrip("/")
    data = b""
    if isinstance(body, (dict, list)):
        data, content_type = json.dumps(body).encode(), content_type or "application/json"
    elif isinstance(body, str):
        data = body.encode()
    elif isinstance(body, bytes):
        data = body
    return RawRequest(method="POST", path=rest, query=parse_query(parts.query),
                      headers=tuple((headers or {}).items()), content_type=content_type,
                      body=data, remote_addr=addr)


def cmd(url: str, body: Any = None, **kwargs: Any) -> MessageCommand:
    return parse_request(raw(url, body, **kwargs), now=NOW).command


def error(url: str, body: Any = None, **kwargs: Any) -> ApiError:
    with pytest.raises(ApiError) as info:
        parse_request(raw(url, body, **kwargs), now=NOW)
    return info.value


def tags(command: MessageCommand) -> dict[str, str]:
    found = dict(command.tags)
    assert found.pop("request_ip") == "192.0.2.1"
    return found


# -- defaults, request parameters -----------------------------------------------------------

def test_query_parameters_become_lower_case_tags() -> None:
    c = cmd(f"{PREFIX}/incoming?entity=test-1&action=started&Repeat=1")
    assert c.entity == "test-1" and tags(c) == {"action": "started", "repeat": "1"}


def test_defaults_come_from_the_path() -> None:
    c = cmd(f"{PREFIX}/jenkins?hello=world")
    assert (c.entity, c.type, c.source, c.severity, c.message) == (
        "jenkins", "webhook", "jenkins", None, "")
    assert c.date == NOW


def test_no_path_gives_empty_source_and_needs_an_entity() -> None:
    c = cmd(f"{PREFIX}?entity=test")
    assert (c.entity, c.source) == ("test", "")
    assert "entity is required" in error(f"{PREFIX}?hello=world").message


def test_path_may_hold_slashes_and_dots() -> None:
    assert cmd(f"{PREFIX}/ci/jenkins-1").entity == "ci/jenkins-1"
    assert cmd(f"{PREFIX}/rocket.chat").source == "rocket.chat"


def test_tag_names_replace_whitespace_and_control_characters() -> None:
    c = cmd(f"{PREFIX}/x?Full%20Name=a&tab%09name=b&bell%07=c")
    assert tags(c) == {"full_name": "a", "tab_name": "b", "bell_": "c"}


def test_values_are_trimmed_and_empty_values_dropped() -> None:
    c = cmd(f"{PREFIX}/x?a=%20v%20&b=&c=%20%20", {"d": "  ", "e": None, "f": " w"})
    assert tags(c) == {"a": "v", "f": "w"}


# -- JSON payload ---------------------------------------------------------------------------

def test_json_flattening_atsd_example() -> None:
    body = {"event": "commit", "repository": {
        "name": "atsd", "public": True, "Full Name": "Axibase TSD", "references": [],
        "authors": ["john.doe", "mary.jones"]}}
    assert tags(cmd(f"{PREFIX}/github", body)) == {
        "event": "commit", "repository.name": "atsd", "repository.public": "true",
        "repository.full_name": "Axibase TSD", "repository.authors[0]": "john.doe",
        "repository.authors[1]": "mary.jones"}


def test_json_numbers_keep_their_text_and_quotes_are_removed() -> None:
    body = {"n": 1.50, "i": 7, "big": 12345678901234567890, "q": "'quoted'", "d": '"dq"',
            "mixed": "'x\"", "f": False, "empty": {}}
    text = json.dumps(body).replace("1.5", "1.50")
    assert tags(cmd(f"{PREFIX}/x", text, content_type="application/json")) == {
        "n": "1.50", "i": "7", "big": "12345678901234567890", "q": "quoted", "d": "dq",
        "mixed": "'x\"", "f": "false"}


def test_top_level_array_flattens_from_the_root() -> None:
    assert tags(cmd(f"{PREFIX}/x", [{"a": 1}, "b"])) == {"[0].a": "1", "[1]": "b"}


# -- entity mapping, literal, command and header parameters ---------------------------------

def test_entity_from_command_entity() -> None:
    c = cmd(f"{PREFIX}/jenkins?command.entity=server.name",
            {"server": {"name": "test-2", "site": "NUR"}})
    assert c.entity == "test-2"
    assert tags(c) == {"server.name": "test-2", "server.site": "NUR"}


def test_entity_from_header() -> None:
    c = cmd(f"{PREFIX}/jenkins?header.entity=X-AXI-Region", headers={"X-AXI-Region": "us-east-01"})
    assert c.entity == "us-east-01"


def test_literal_parameters_atsd_example() -> None:
    c = cmd(f"{PREFIX}/jenkins?entity=test-1&type=ci&severity=3")
    assert (c.entity, c.type, c.severity) == ("test-1", "ci", Severity.WARNING)


def test_command_parameters_atsd_example() -> None:
    c = cmd(f"{PREFIX}/jenkins?command.entity=server&command.type=event",
            {"server": "test-2", "event": "deploy"})
    assert (c.entity, c.type) == ("test-2", "deploy")
    assert tags(c) == {"server": "test-2", "event": "deploy"}


def test_header_tag_github_example() -> None:
    headers = {"User-Agent": "GitHub-Hookshot/5ee1da1", "X-GitHub-Event": "watch",
               "X-GitHub-Delivery": "955bf180-e573-11e7-9438-56fe67d6b38d"}
    c = cmd(f"{PREFIX}/github?header.tag.event=X-GitHub-Event", headers=headers)
    assert c.entity == "github" and tags(c) == {"event": "watch"}


def test_precedence_literal_command_header() -> None:
    url = f"{PREFIX}/github?entity=test-1&header.entity=User-Agent&command.entity=server"
    headers = {"User-Agent": "GitHub-Hookshot/5ee1da1"}
    c = cmd(url, {"server": "test-2"}, headers=headers)
    assert (c.entity, c.type, c.source) == ("test-1", "webhook", "github")
    assert tags(c) == {"server": "test-2"}
    c = cmd(f"{PREFIX}/github?header.entity=User-Agent&command.entity=server",
            {"server": "test-2"}, headers=headers)
    assert c.entity == "test-2"
    assert cmd(f"{PREFIX}/github?header.entity=User-Agent", headers=headers
               ).entity == "github-hookshot/5ee1da1"


def test_absent_command_or_header_falls_through() -> None:
    c = cmd(f"{PREFIX}/github?command.entity=nope&header.entity=X-Nope&command.message=none",
            {"a": 1})
    assert (c.entity, c.message) == ("github", "")
    c = cmd(f"{PREFIX}/github?command.entity=nope&header.entity=X-Host",
            headers={"X-Host": "h1"})
    assert c.entity == "h1"


def test_every_field_at_every_level() -> None:
    body = {"t": "T1", "s": "S1", "e": "E1", "d": "2016-06-09T16:15:04.005Z", "m": " Text ",
            "v": "major"}
    c = cmd(f"{PREFIX}/x?command.type=t&command.source=s&command.entity=e&command.date=d"
            "&command.message=m&command.severity=v", body)
    assert (c.type, c.source, c.entity, c.message, c.severity) == (
        "t1", "s1", "e1", "Text", Severity.MAJOR)
    assert c.date == datetime(2016, 6, 9, 16, 15, 4, 5000, tzinfo=UTC)
    headers = {"X-T": "T2", "X-S": "S2", "X-E": "E2", "X-D": "2016-06-24T20:00:45+0200",
               "X-M": "hello", "X-V": "7"}
    c = cmd(f"{PREFIX}/x?header.type=X-T&header.source=X-S&header.entity=X-E&header.date=X-D"
            "&header.message=X-M&header.severity=X-V", headers=headers)
    assert (c.type, c.source, c.entity, c.message, c.severity) == (
        "t2", "s2", "e2", "hello", Severity.FATAL)
    assert c.date == datetime(2016, 6, 24, 18, 0, 45, tzinfo=UTC)


def test_header_date_accepts_an_http_date() -> None:
    c = cmd(f"{PREFIX}/x?header.date=Date", headers={"Date": "Tue, 15 Nov 1994 08:12:31 GMT"})
    assert c.date == datetime(1994, 11, 15, 8, 12, 31, tzinfo=UTC)


# -- severity and dates ---------------------------------------------------------------------

@pytest.mark.parametrize(("given", "expected"), [
    ("0", Severity.UNDEFINED), ("1", Severity.UNKNOWN), ("normal", Severity.NORMAL),
    ("INFO", Severity.NORMAL), ("Warn", Severity.WARNING), ("3", Severity.WARNING),
    ("minor", Severity.MINOR), ("MAJOR", Severity.MAJOR), ("error", Severity.CRITICAL),
    ("critical", Severity.CRITICAL), ("fatal", Severity.FATAL), ("7", Severity.FATAL),
])
def test_severity_names_aliases_and_codes(given: str, expected: Severity) -> None:
    assert cmd(f"{PREFIX}/x?severity={given}").severity == expected


@pytest.mark.parametrize("given", ["8", "-1", "bad", "3.0"])
def test_unknown_severity_is_an_error(given: str) -> None:
    assert "severity" in error(f"{PREFIX}/x?severity={given}").message


@pytest.mark.parametrize(("given", "expected"), [
    ("2016-06-09T16:15:04.005Z", datetime(2016, 6, 9, 16, 15, 4, 5000, tzinfo=UTC)),
    ("2016-06-24T20:00:45%2B0200", datetime(2016, 6, 24, 18, 0, 45, tzinfo=UTC)),
    ("2016-06-24T20:00:45.003000005%2B00:00",
     datetime(2016, 6, 24, 20, 0, 45, 3000, tzinfo=UTC)),
])
def test_iso_dates_with_zones(given: str, expected: datetime) -> None:
    assert cmd(f"{PREFIX}/x?date={given}").date == expected


@pytest.mark.parametrize("given", ["2016-06-09T16:15:04", "2016-06-09T16:15Z",
                                   "2016-06-09%2016:15:04Z", "yesterday", "1465488904"])
def test_dates_without_zone_seconds_or_t_are_errors(given: str) -> None:
    assert "invalid date" in error(f"{PREFIX}/x?date={given}").message


def test_datetime_pattern_seconds_milliseconds_and_custom() -> None:
    body = {"s": 1465488904, "ms": "1465488904005", "c": "2016-06-09 16:15:04",
            "cz": "09/06/2016 16:15 +0200"}
    expected = datetime(2016, 6, 9, 16, 15, 4, tzinfo=UTC)
    assert cmd(f"{PREFIX}/x?command.date=s&datetimePattern=seconds", body).date == expected
    assert cmd(f"{PREFIX}/x?command.date=ms&datetimePattern=milliseconds", body
               ).date == expected.replace(microsecond=5000)
    assert cmd(f"{PREFIX}/x?command.date=c&datetimePattern=yyyy-MM-dd%20HH:mm:ss", body
               ).date == expected
    assert cmd(f"{PREFIX}/x?command.date=cz&datetimePattern=dd/MM/yyyy%20HH:mm%20Z", body
               ).date == datetime(2016, 6, 9, 14, 15, tzinfo=UTC)
    assert "does not match" in error(
        f"{PREFIX}/x?command.date=c&datetimePattern=dd.MM.yyyy", body).message
    assert "Unix time" in error(
        f"{PREFIX}/x?command.date=c&datetimePattern=seconds", body).message
    assert "invalid date" in error(f"{PREFIX}/x?command.date=s&datetimePattern=iso", body
                                   ).message


@pytest.mark.parametrize(("pattern", "words"), [
    ("yyyyyyyyyy", "unsupported field 'yyyyyyyyyy'"),
    ("yyy", "unsupported field 'yyy'"),
    ("SSSSSSSSS", "unsupported field 'SSSSSSSSS'"),
    ("dd dd", "the field 'dd' is given twice; give each field once"),
    ("XXX Z", "the field 'Z' is given twice (as 'XXX' before)"),
    ("uuuu yyyy", "the field 'yyyy' is given twice (as 'uuuu' before)"),
    ("HH:mm 'T", "unterminated quote"),
    ("qq", "unsupported field 'qq'"),
])
def test_malformed_datetime_patterns_are_a_400_naming_the_parameter(pattern: str,
                                                                    words: str) -> None:
    body = {"d": "2016-06-09 16:15:04"}
    found = error(f"{PREFIX}/x?command.date=d&datetimePattern={quote(pattern)}", body)
    assert found.status == 400
    assert found.message.startswith(f"datetimePattern {pattern!r}: ") and words in found.message


def test_api_errors_join_the_one_error_root() -> None:
    from rules.errors import AtsdBotError

    assert isinstance(error(f"{PREFIX}/x?command.date=d&datetimePattern=qq", {"d": "1"}),
                      AtsdBotError)


def test_a_datetime_pattern_is_checked_only_when_a_date_is_read() -> None:
    # as before: without command.date (or without the field) the pattern is not used
    assert cmd(f"{PREFIX}/x?datetimePattern=qq", {"a": "b"}).date == NOW
    assert cmd(f"{PREFIX}/x?command.date=d&datetimePattern=qq", {"a": "b"}).date == NOW


@pytest.mark.parametrize(("url", "headers", "words"), [
    ("?date=yesterday", {}, "date: invalid date 'yesterday'"),
    ("?command.date=m&datetimePattern=seconds", {}, "command.date: invalid date 'x'"),
    ("?command.severity=m", {}, "command.severity: unknown severity 'x'"),
    ("?header.date=X-D", {"X-D": "never"}, "header.date: invalid date 'never' in header"),
])
def test_a_bad_field_value_names_the_parameter_that_chose_it(
        url: str, headers: dict[str, str], words: str) -> None:
    assert words in error(f"{PREFIX}/x{url}", {"m": "x"}, headers=headers).message


# -- filters --------------------------------------------------------------------------------

FILTER_BODY = {"event": "commit", "result": "ok", "repository": {
    "name": "atsd", "public": True, "Full Name": "Axibase TSD", "references": []}}


def test_exclude_with_include_atsd_example() -> None:
    c = cmd(f"{PREFIX}/x?exclude=repository.*&include=repository.name", FILTER_BODY)
    assert tags(c) == {"event": "commit", "result": "ok", "repository.name": "atsd"}


def test_patterns_split_by_semicolon_or_repeated_and_names_ignore_case() -> None:
    one = cmd(f"{PREFIX}/x?exclude=REPOSITORY.*;Result", FILTER_BODY)
    two = cmd(f"{PREFIX}/x?exclude=repository.*&exclude=result", FILTER_BODY)
    assert tags(one) == tags(two) == {"event": "commit"}


def test_exclude_values_and_include_values() -> None:
    body = {"a": "http://x", "b": "https://y", "c": "plain", "d": "HTTP://upper"}
    assert tags(cmd(f"{PREFIX}/x?excludeValues=http*", body)) == {"c": "plain",
                                                                  "d": "HTTP://upper"}
    assert tags(cmd(f"{PREFIX}/x?excludeValues=http*&includeValues=https*", body)) == {
        "b": "https://y", "c": "plain", "d": "HTTP://upper"}


def test_question_mark_matches_one_character() -> None:
    body = {"ab": "1", "abc": "2", "abcd": "3"}
    assert tags(cmd(f"{PREFIX}/x?exclude=ab?", body)) == {"ab": "1", "abcd": "3"}


def test_filters_mix_exact_names_and_patterns() -> None:
    body = {"a": "1", "bb": "Plain", "bc": "3", "c": "plain", "d": {"e": [1, None, True]}}
    assert tags(cmd(f"{PREFIX}/x?exclude=A;b*&include=bc", body)) == {
        "bc": "3", "c": "plain", "d.e[0]": "1", "d.e[2]": "true"}
    assert tags(cmd(f"{PREFIX}/x?excludeValues=plain;1", body)) == {
        "bb": "Plain", "bc": "3", "d.e[2]": "true"}  # values match case-sensitively
    # the same URL again (its parsed query is cached): the same answer
    assert tags(cmd(f"{PREFIX}/x?exclude=A;b*&include=bc", body))["bc"] == "3"


def test_request_ip_survives_filters() -> None:
    c = cmd(f"{PREFIX}/x?a=1&exclude=*&excludeValues=*")
    assert c.tags == {"request_ip": "192.0.2.1"}


def test_command_fields_stay_tags_unless_excluded() -> None:
    c = cmd(f"{PREFIX}/x?command.message=text", {"text": "hi"})
    assert c.message == "hi" and tags(c) == {"text": "hi"}
    c = cmd(f"{PREFIX}/x?command.message=text&exclude=text", {"text": "hi"})
    assert c.message == "hi" and tags(c) == {}


# -- json.parse -----------------------------------------------------------------------------

def test_json_parse_form_travis_example() -> None:
    form = 'event=build&payload={"id":371662529,"number":"217","config":{"os":"linux"}}'
    c = cmd(f"{PREFIX}/travis-ci?json.parse=payload", form.replace("+", "%2B"),
            content_type="application/x-www-form-urlencoded")
    assert tags(c) == {"event": "build", "payload.id": "371662529", "payload.number": "217",
                       "payload.config.os": "linux"}


def test_json_parse_json_aws_example() -> None:
    body = {"Type": "Notification", "Message": json.dumps(
        {"version": "0", "source": "aws.ec2", "region": "us-east-1"})}
    c = cmd(f"{PREFIX}/aws-cloudwatch?json.parse=Message", body)
    assert tags(c) == {"type": "Notification", "message.version": "0",
                       "message.source": "aws.ec2", "message.region": "us-east-1"}


def test_json_parse_of_a_query_parameter() -> None:
    c = cmd(f'{PREFIX}/x?json.parse=doc&doc={{"a":{{"b":1}}}}')
    assert tags(c) == {"doc.a.b": "1"}


def test_json_parse_field_that_is_not_json_is_an_error() -> None:
    e = error(f"{PREFIX}/x?json.parse=Message", {"Message": "hello world"})
    assert e.status == 400 and "json.parse field 'Message' is not valid JSON" in e.message


def test_json_parse_of_an_absent_field_is_ignored() -> None:
    assert tags(cmd(f"{PREFIX}/x?json.parse=Message", {"a": "1"})) == {"a": "1"}


# -- ATSD sample URLs -----------------------------------------------------------------------

GITHUB_URL = (f"{PREFIX}/github?exclude=organization.*;repository.*;*.signature;*.payload;"
              "*.sha;*.ref;*_at;*.id&include=repository.name;repository.full_name"
              "&header.tag.event=X-GitHub-Event&excludeValues=http*&debug=true")


def test_github_sample() -> None:
    body = {
        "action": "started",
        "repository": {"id": 54949530, "name": "atsd", "full_name": "axibase/atsd",
                       "owner": {"login": "axibase", "id": 10971416},
                       "html_url": "https://github.com/axibase/atsd",
                       "created_at": "2016-03-29T05:51:34Z"},
        "organization": {"login": "axibase", "url": "https://api.github.com/orgs/axibase"},
        "sender": {"login": "john_doe", "id": 2098022, "gravatar_id": "",
                   "avatar_url": "https://avatars3.githubusercontent.com/u/2098022?v=4",
                   "url": "https://api.github.com/users/john_doe", "type": "User",
                   "site_admin": False},
    }
    parsed = parse_request(raw(GITHUB_URL, body, headers={"X-GitHub-Event": "watch"}), now=NOW)
    assert parsed.debug
    c = parsed.command
    assert (c.entity, c.type, c.source, c.severity) == ("github", "webhook", "github", None)
    # ATSD's page shows sender.id in its result although its own exclude=*.id removes it;
    # the filter as written wins here.
    assert tags(c) == {"action": "started", "event": "watch", "repository.name": "atsd",
                       "repository.full_name": "axibase/atsd", "sender.login": "john_doe",
                       "sender.type": "User", "sender.site_admin": "false"}


def test_aws_sns_sample() -> None:
    url = (f"{PREFIX}/aws-cw?command.date=Timestamp&json.parse=Message&exclude=Signature;"
           "SignatureVersion;SigningCertURL;SignatureVersion;UnsubscribeURL;MessageId;"
           "Message.detail.instance-id;Message.time;Message.id;Message.version")
    message = {"version": "0", "id": "ee376907", "detail-type": "EC2 Instance State-change",
               "source": "aws.ec2", "time": "2018-01-12T15:45:30Z", "region": "us-east-1",
               "detail": {"instance-id": "i-1", "state": "stopped"}}
    body = {"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:x",
            "Message": json.dumps(message), "Timestamp": "2018-01-12T15:45:35.523Z",
            "SignatureVersion": "1", "Signature": "abc", "SigningCertURL": "https://c",
            "UnsubscribeURL": "https://u"}
    c = cmd(url, body)
    assert c.entity == "aws-cw"
    assert c.date == datetime(2018, 1, 12, 15, 45, 35, 523000, tzinfo=UTC)
    assert tags(c) == {"type": "Notification", "topicarn": "arn:aws:sns:x",
                       "timestamp": "2018-01-12T15:45:35.523Z",
                       "message.detail-type": "EC2 Instance State-change",
                       "message.source": "aws.ec2", "message.region": "us-east-1",
                       "message.detail.state": "stopped"}


def test_jenkins_sample() -> None:
    url = (f"{PREFIX}/jenkins?command.date=build.timestamp&datetimePattern=milliseconds"
           "&exclude=build.url;url;build.artifacts*")
    body = {"name": "job-1", "url": "job/job-1/", "build": {
        "full_url": "http://j/job/job-1/5/", "number": 5, "phase": "COMPLETED",
        "status": "SUCCESS", "url": "job/job-1/5/", "timestamp": 1515449522000,
        "artifacts": {"a.jar": {"archive": "http://j/a.jar"}}}}
    c = cmd(url, body)
    assert c.date == datetime(2018, 1, 8, 22, 12, 2, tzinfo=UTC)
    assert tags(c) == {"name": "job-1", "build.full_url": "http://j/job/job-1/5/",
                       "build.number": "5", "build.phase": "COMPLETED",
                       "build.status": "SUCCESS", "build.timestamp": "1515449522000"}


def test_travis_sample() -> None:
    url = (f"{PREFIX}/travis-ci?json.parse=payload&exclude=payload.id;payload.number;"
           "payload.config*;payload.repository*;payload.matrix*;payload.*commit*;"
           "payload.status_message;payload.result&include=payload.repository.name"
           "&command.message=payload.result_message")
    payload = {"id": 1, "number": "217", "config": {"os": "linux"}, "result": 0,
               "status_message": "Passed", "result_message": "Passed",
               "repository": {"id": 9, "name": "atsd"}, "commit": "abc", "branch": "master"}
    form = "payload=" + json.dumps(payload).replace("&", "%26").replace("+", "%2B")
    c = cmd(url, form, content_type="application/x-www-form-urlencoded")
    assert c.message == "Passed"
    assert tags(c) == {"payload.result_message": "Passed", "payload.repository.name": "atsd",
                       "payload.branch": "master"}


def test_slack_sample() -> None:
    url = (f"{PREFIX}/slack?command.message=event.text&command.date=event.ts"
           "&exclude=event.event_ts&exclude=event_time&exclude=event.icons.image*"
           "&exclude=*thumb*&exclude=token&exclude=event_id&exclude=event.message.edited.ts"
           "&exclude=*.ts")
    body = {"token": "XXYYZZ", "team_id": "T1", "api_app_id": "A1", "event": {
        "type": "message", "user": "U1", "text": "Hello bot", "ts": "1515449522.000016",
        "channel": "D1", "event_ts": "1515449522.000016"}, "type": "event_callback",
        "event_id": "Ev1", "event_time": 1515449522}
    c = cmd(url, body)
    assert c.message == "Hello bot"
    assert c.date == datetime(2018, 1, 8, 22, 12, 2, 16, tzinfo=UTC)
    assert tags(c) == {"team_id": "T1", "api_app_id": "A1", "event.type": "message",
                       "event.user": "U1", "event.text": "Hello bot", "event.channel": "D1",
                       "type": "event_callback"}


def test_telegram_sample() -> None:
    body = {"update_id": 1, "message": {"message_id": 7, "from": {
        "id": 5, "is_bot": False, "first_name": "John", "username": "jdoe"},
        "chat": {"id": 5, "type": "private"}, "date": 1515449522, "text": "/status"}}
    c = cmd(f"{PREFIX}/telegram?command.message=message.text", body)
    assert (c.entity, c.message) == ("telegram", "/status")
    assert tags(c)["message.from.username"] == "jdoe"


# -- the seed's Rocket.Chat case ------------------------------------------------------------

def test_rocket_chat_two_url_forms_give_the_same_command() -> None:
    payload = rc_payload()
    first = cmd(f"{PREFIX}/rocket.chat?message={payload['text']}&exclude=text", payload)
    second = cmd(f"{PREFIX}/rocket.chat?command.message=text&exclude=text", payload)
    assert first.to_json() == second.to_json()
    assert (first.entity, first.source, first.type, first.message) == (
        "rocket.chat", "rocket.chat", "webhook", "hi")
    assert tags(first) == {"bot": "false", "channel_id": "ZpMw6XxSuZdpupcDa",
                           "channel_name": "THANG-TEST-2", "message_id": "QSGJ9YqFkXuinmHAt",
                           "timestamp": "2021-03-18T03:37:15.725Z",
                           "user_id": "zk8ei6fZYTxnNdbWg", "user_name": "thangtm13",
                           "siteurl": "http://localhost:3006/"}


def test_rocket_chat_alias_is_a_tag_and_token_never_is() -> None:
    payload = {**rc_payload(), "alias": "Ops Bot"}
    c = cmd(f"{PREFIX}/rocket.chat?command.message=text&exclude=text&token=x", payload)
    assert c.tags["alias"] == "Ops Bot" and "token" not in c.tags
    assert "token" not in cmd(f"{PREFIX}/other?token=abc").tags


def test_media_message_has_empty_text() -> None:
    payload = rc_payload("outgoing-webhook-sendmessage-media-message.json")
    c = cmd(f"{PREFIX}/rocket.chat?command.message=text&exclude=text", payload)
    assert c.message == "" and c.tags["message_id"] == "HLekBGfj7mpXQPKRx"


# -- request_ip -----------------------------------------------------------------------------

def test_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    assert client_ip("10.0.0.5", "203.0.113.9", ["10.0.0.0/8"]) == "203.0.113.9"
    assert client_ip("192.0.2.7", "203.0.113.9", ["10.0.0.0/8"]) == "192.0.2.7"
    # the leftmost entry is the client's own claim; a trusted chain is walked right to left
    assert client_ip("10.0.0.5", "1.1.1.1, 203.0.113.9, 10.0.0.6",
                     ["10.0.0.0/8"]) == "203.0.113.9"
    assert client_ip("10.0.0.5", "garbage", ["10.0.0.0/8"]) == "10.0.0.5"
    parsed = parse_request(raw(f"{PREFIX}/x", headers={"X-Forwarded-For": "203.0.113.9"},
                               addr="10.1.2.3"), now=NOW, trusted_proxies=["10.0.0.0/8"])
    assert parsed.command.tags["request_ip"] == "203.0.113.9"
