"""The UI through Flask's test client: login, CSRF, every page, every button, no secret shown."""

from __future__ import annotations

import io
import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from rules.store.tables import base as schema
from rules.store.tables import engine as es
from tests.ui.conftest import ADMIN, SECRET_TOKEN, Calls, csrf_of, login

PAGES = ["/ui/", "/ui/webhooks", "/ui/incidents", "/ui/messages", "/ui/alerts",
         "/ui/alerts/history", "/ui/windows", "/ui/rules", "/ui/notifications", "/ui/status",
         "/ui/silences", "/ui/messages/1"]


def test_root_leads_to_the_ui(client: FlaskClient) -> None:
    answer = client.get("/")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/ui/")


@pytest.mark.parametrize("page", PAGES)
def test_every_page_needs_a_login(client: FlaskClient, page: str) -> None:
    answer = client.get(page)
    assert answer.status_code == 302
    assert "/ui/login" in answer.headers["Location"]


def test_login_form_has_the_fields_and_a_csrf_token(client: FlaskClient) -> None:
    html = client.get("/ui/login").get_data(as_text=True)
    assert 'name="username"' in html and 'name="password"' in html
    assert len(csrf_of(html)) >= 32


def test_login_sets_a_safe_session_cookie(client: FlaskClient) -> None:
    page = client.get("/ui/login").get_data(as_text=True)
    answer = client.post("/ui/login", data={"username": ADMIN[0], "password": ADMIN[1],
                                            "csrf_token": csrf_of(page)})
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize("username,password", [
    (ADMIN[0], "Nope-xyz-1"), ("nobody", ADMIN[1]), ("rocketchat", "webhook-pass-9")])
def test_failed_login_is_refused_and_recorded(client: FlaskClient, ui_app: Flask,
                                              username: str, password: str) -> None:
    page = client.get("/ui/login").get_data(as_text=True)
    answer = client.post("/ui/login", data={"username": username, "password": password,
                                            "csrf_token": csrf_of(page)})
    assert answer.status_code == 401
    assert "Wrong user name or password" in answer.get_data(as_text=True)
    assert client.get("/ui/").status_code == 302
    db = ui_app.extensions["atsd_ui"].db
    with db.connect() as conn:
        reasons = [r.reason for r in conn.execute(select(schema.security_incidents))]
    assert any(r.startswith("web UI login:") for r in reasons)
    assert not any(password in r for r in reasons)


def test_login_without_csrf_token_is_refused(client: FlaskClient) -> None:
    answer = client.post("/ui/login", data={"username": ADMIN[0], "password": ADMIN[1]})
    assert answer.status_code == 400
    assert client.get("/ui/").status_code == 302


def test_login_does_not_redirect_off_site(client: FlaskClient) -> None:
    page = client.get("/ui/login").get_data(as_text=True)
    answer = client.post("/ui/login?next=//evil.example/x",
                         data={"username": ADMIN[0], "password": ADMIN[1],
                               "csrf_token": csrf_of(page)})
    assert answer.headers["Location"] == "/ui/"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_secrets(client: FlaskClient, page: str) -> None:
    login(client)
    answer = client.get(page)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200, html
    assert "<title>" in html and 'name="csrf_token"' in html
    for secret in (SECRET_TOKEN, ADMIN[1], "webhook-pass-9", "cm9ja2V0Y2hhdDp3ZWJob29r"):
        assert secret not in html
    assert answer.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]


def test_times_render_as_utc_time_elements(client: FlaskClient) -> None:
    login(client)
    html = client.get("/ui/webhooks").get_data(as_text=True)
    assert '<time datetime="20' in html and 'Z">' in html and " UTC</time>" in html


def test_output_is_escaped(client: FlaskClient) -> None:
    login(client)
    html = client.get("/ui/messages?last=all").get_data(as_text=True)
    assert "hello &lt;b&gt;@atsd_bot&lt;/b&gt;" in html
    assert "<b>@atsd_bot</b>" not in html


def test_webhook_detail_shows_body_command_and_masks_secrets(client: FlaskClient,
                                                             ui_app: Flask) -> None:
    login(client)
    request_id = ui_app.extensions["seed"]["request"]
    html = client.get(f"/ui/webhooks/{request_id}").get_data(as_text=True)
    assert "Resulting command" in html and "&#34;entity&#34;: &#34;rocket.chat&#34;" in html
    assert "&#34;token&#34;: &#34;***&#34;" in html
    assert "token=%2A%2A%2A" in html or "token=***" in html
    assert SECRET_TOKEN not in html and "Basic cm9" not in html
    assert ">Replay</button>" in html


def test_unknown_webhook_request_is_a_404_page(client: FlaskClient) -> None:
    login(client)
    answer = client.get("/ui/webhooks/99999")
    assert answer.status_code == 404 and "rotated" in answer.get_data(as_text=True)


def test_replay_calls_the_receiver(client: FlaskClient, ui_app: Flask, calls: Calls) -> None:
    token = login(client)
    request_id = ui_app.extensions["seed"]["request"]
    answer = client.post(f"/ui/webhooks/{request_id}/replay", data={"csrf_token": token},
                         follow_redirects=True)
    assert calls.replayed == [request_id]
    assert f"Replayed request {request_id}: duplicate" in answer.get_data(as_text=True)


def test_a_post_without_the_csrf_token_changes_nothing(client: FlaskClient, ui_app: Flask,
                                                       calls: Calls) -> None:
    login(client)
    alert_id = ui_app.extensions["seed"]["alert"]
    answer = client.post(f"/ui/alerts/{alert_id}/acknowledge", data={"csrf_token": "forged"})
    assert answer.status_code == 400
    assert calls.acked == []


def test_acknowledge_and_unacknowledge(client: FlaskClient, ui_app: Flask) -> None:
    token = login(client)
    alert_id = ui_app.extensions["seed"]["alert"]
    html = client.get("/ui/alerts").get_data(as_text=True)
    assert ">Acknowledge</button>" in html
    html = client.post(f"/ui/alerts/{alert_id}/acknowledge", data={"csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert f"Acknowledged alert {alert_id}." in html and ">Unacknowledge</button>" in html
    html = client.post(f"/ui/alerts/{alert_id}/unacknowledge", data={"csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert f"Unacknowledged alert {alert_id}." in html
    db = ui_app.extensions["atsd_ui"].db
    with db.connect() as conn:
        assert conn.execute(select(es.alerts.c.acknowledged)
                            .where(es.alerts.c.id == alert_id)).scalar() is False


def test_resolve_closes_the_alert_with_who_and_why(client: FlaskClient, ui_app: Flask,
                                                   calls: Calls) -> None:
    token = login(client)
    alert_id = ui_app.extensions["seed"]["alert"]
    assert ">Resolve</button>" in client.get("/ui/alerts").get_data(as_text=True)
    html = client.post(f"/ui/alerts/{alert_id}/resolve",
                       data={"csrf_token": token, "reason": "  disk\n replaced "},
                       follow_redirects=True).get_data(as_text=True)
    assert f"Resolved alert {alert_id}." in html
    assert calls.resolved == [(alert_id, f"{ADMIN[0]} (web UI)", "disk replaced")]
    again = client.post(f"/ui/alerts/{alert_id}/resolve", data={"csrf_token": token},
                        follow_redirects=True).get_data(as_text=True)
    assert f"Alert {alert_id} is not open any more." in again


def test_resolve_without_the_csrf_token_changes_nothing(client: FlaskClient, ui_app: Flask,
                                                        calls: Calls) -> None:
    login(client)
    alert_id = ui_app.extensions["seed"]["alert"]
    answer = client.post(f"/ui/alerts/{alert_id}/resolve", data={"csrf_token": "forged"})
    assert answer.status_code == 400 and calls.resolved == []


def test_acknowledging_a_closed_alert_says_so(client: FlaskClient) -> None:
    token = login(client)
    html = client.post("/ui/alerts/424242/acknowledge", data={"csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert "Alert 424242 is not open any more." in html


def test_history_shows_duration(client: FlaskClient) -> None:
    login(client)
    html = client.get("/ui/alerts/history").get_data(as_text=True)
    assert "00:01:10:00" in html and "bye" in html


@pytest.mark.parametrize("query,expected,absent", [
    ("?last=all&entity=rocket.*", "alice", None),
    ("?last=all&entity=other", "No messages match", "alice"),
    ("?last=all&tag=user_name=alice", "alice", None),
    ("?last=all&tag=user_name=bob", "No messages match", None),
    ("?last=all&text=hello", "alice", None),
    ("?last=all&source=rocket.chat&type=webhook", "alice", None),
    ("?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z", "No messages match", "alice"),
])
def test_message_search(client: FlaskClient, query: str, expected: str,
                        absent: str | None) -> None:
    login(client)
    html = client.get("/ui/messages" + query).get_data(as_text=True)
    assert expected in html
    if absent:
        assert f'<span class="tag">user_name={absent}' not in html


def test_message_search_with_a_bad_date_explains(client: FlaskClient) -> None:
    login(client)
    answer = client.get("/ui/messages?from=yesterday")
    assert answer.status_code == 200
    assert "from: invalid date" in answer.get_data(as_text=True)


def test_import_a_file_with_an_error_shows_the_error(client: FlaskClient, calls: Calls) -> None:
    token = login(client)
    answer = client.post("/ui/rules/import", data={
        "csrf_token": token, "action": "import",
        "file": (io.BytesIO(b"rules:\n- name: bad\n  window: length(0)\n"), "bad.yml")},
        content_type="multipart/form-data")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "Not imported." in html and "rule &#39;bad&#39;: window: length(0)" in html


def test_import_a_good_file(client: FlaskClient, calls: Calls) -> None:
    token = login(client)
    answer = client.post("/ui/rules/import", data={
        "csrf_token": token, "action": "import",
        "file": (io.BytesIO(b"rules: []\n"), "good.yml")}, content_type="multipart/form-data")
    assert answer.status_code == 200
    assert "Imported: 1 rule (good)" in answer.get_data(as_text=True)
    assert calls.imported == ["good.yml"]


def test_validate_does_not_import(client: FlaskClient, calls: Calls) -> None:
    token = login(client)
    answer = client.post("/ui/rules/import", data={
        "csrf_token": token, "action": "validate",
        "file": (io.BytesIO(b"rules: []\n"), "good.yml")}, content_type="multipart/form-data")
    assert "Valid: 1 rule" in answer.get_data(as_text=True)
    assert calls.imported == []


def test_export_downloads_xml(client: FlaskClient) -> None:
    login(client)
    answer = client.get("/ui/rules/export")
    assert answer.mimetype == "application/xml"
    assert b"<name>rocketchat-reply</name>" in answer.data


def test_dry_run_a_pasted_command(client: FlaskClient, calls: Calls) -> None:
    token = login(client)
    command = json.dumps({"entity": "Rocket.Chat", "message": "ping", "tags": {"A": " x "}})
    html = client.post("/ui/rules/dry-run", data={
        "csrf_token": token, "rule": "rocketchat-reply", "source": "command",
        "command": command}).get_data(as_text=True)
    assert "User said &#34;ping&#34;" in html
    (rule, commands), = calls.dry
    assert commands[0].entity == "rocket.chat" and commands[0].tags == {"a": "x"}


def test_dry_run_the_last_messages(client: FlaskClient, calls: Calls) -> None:
    token = login(client)
    client.post("/ui/rules/dry-run", data={"csrf_token": token, "rule": "rocketchat-reply",
                                           "source": "last", "count": "5"})
    (_, commands), = calls.dry
    assert [c.message for c in commands] == ["hello <b>@atsd_bot</b>"]


@pytest.mark.parametrize("form,error", [
    ({"command": "{not json"}, "not valid JSON"),
    ({"command": "[1]"}, "an object with at least an entity"),
    ({"command": '{"entity": "e", "severity": "loud"}'}, "unknown severity"),
    ({"rule": "no-such-rule"}, "no rule named"),
    ({"source": "last", "count": "0"}, "must be 1 to 1000"),
])
def test_dry_run_bad_input_is_explained(client: FlaskClient, form: dict[str, str],
                                        error: str) -> None:
    token = login(client)
    data = {"csrf_token": token, "rule": "rocketchat-reply", "source": "command",
            "command": '{"entity": "e"}', **form}
    answer = client.post("/ui/rules/dry-run", data=data)
    assert answer.status_code == 400
    assert error in answer.get_data(as_text=True)


def test_notifications_show_attempts_and_retry(client: FlaskClient, ui_app: Flask,
                                               calls: Calls) -> None:
    token = login(client)
    outbox_id = ui_app.extensions["seed"]["outbox"]
    html = client.get("/ui/notifications?status=failed").get_data(as_text=True)
    assert "HTTP 500 from Rocket.Chat" in html and ">Retry now</button>" in html
    html = client.post(f"/ui/notifications/{outbox_id}/retry", data={"csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert f"Notification {outbox_id} will be sent again now." in html
    assert calls.retried == [outbox_id]


def test_status_page_shows_paths_and_versions(client: FlaskClient) -> None:
    login(client)
    html = client.get("/ui/status").get_data(as_text=True)
    assert "listening on http://127.0.0.1:1" in html and "not configured" in html
    assert "atsd-bot" in html and "0.1.0" in html


def test_logout_ends_the_session(client: FlaskClient) -> None:
    token = login(client)
    client.post("/ui/logout", data={"csrf_token": token})
    assert client.get("/ui/").status_code == 302


def test_repeated_failed_logins_are_throttled(client: FlaskClient) -> None:
    page = client.get("/ui/login").get_data(as_text=True)
    token = csrf_of(page)
    codes = [client.post("/ui/login", data={"username": ADMIN[0], "password": f"bad-{i}",
                                            "csrf_token": token}).status_code
             for i in range(11)]
    assert codes[:10] == [401] * 10 and codes[10] == 429
    # even the right password waits now
    answer = client.post("/ui/login", data={"username": ADMIN[0], "password": ADMIN[1],
                                            "csrf_token": token})
    assert answer.status_code == 429 and "Retry-After" in answer.headers



def test_failed_logins_of_one_name_do_not_lock_out_another_user(client: FlaskClient) -> None:
    token = csrf_of(client.get("/ui/login").get_data(as_text=True))
    for i in range(10):
        client.post("/ui/login", data={"username": "ghost", "password": f"bad-{i}",
                                       "csrf_token": token})
    throttled = client.post("/ui/login", data={"username": "ghost", "password": "x",
                                               "csrf_token": token})
    assert throttled.status_code == 429
    answer = client.post("/ui/login", data={"username": ADMIN[0], "password": ADMIN[1],
                                            "csrf_token": token})
    assert answer.status_code == 302


@pytest.mark.postgres
@pytest.mark.parametrize("page", PAGES + [
    "/ui/messages?last=all&entity=rocket.*&tag=user_name=alice&text=hello",
    "/ui/alerts/history?rule=rocketchat-*&entity=old", "/ui/windows?rule=rocket*",
    "/ui/notifications?status=failed"])
def test_pages_on_postgresql(pg_client: FlaskClient, page: str) -> None:
    login(pg_client)
    answer = pg_client.get(page)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200, html
    assert SECRET_TOKEN not in html
    if "messages" in page or page == "/ui/alerts":
        assert "alice" in html or "hello @atsd_bot" in html


@pytest.mark.postgres
def test_acknowledge_on_postgresql(pg_client: FlaskClient, pg_app: Flask) -> None:
    token = login(pg_client)
    alert_id = pg_app.extensions["seed"]["alert"]
    html = pg_client.post(f"/ui/alerts/{alert_id}/acknowledge", data={"csrf_token": token},
                          follow_redirects=True).get_data(as_text=True)
    assert f"Acknowledged alert {alert_id}." in html


def test_acknowledge_on_an_instance_without_the_engine_is_refused(
        client: FlaskClient, ui_app: Flask, calls: Calls) -> None:
    ui_app.extensions["atsd_ui"].runs_engine = lambda: False
    token = login(client)
    alert_id = ui_app.extensions["seed"]["alert"]
    html = client.post(f"/ui/alerts/{alert_id}/acknowledge", data={"csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert "does not run the rule engine" in html and calls.acked == []


SEARCH_FIELDS = ("type", "source", "entity", "tag", "text", "from", "to", "last", "limit",
                 "rule", "status")


@pytest.mark.parametrize("page", ["/ui/messages", "/ui/alerts/history", "/ui/windows",
                                  "/ui/notifications", "/ui/webhooks", "/ui/incidents"])
def test_odd_query_strings_never_fail(client: FlaskClient, page: str) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    login(client)

    @settings(max_examples=40, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.dictionaries(st.sampled_from(SEARCH_FIELDS), st.text(max_size=40), max_size=5))
    def check(args: dict[str, str]) -> None:
        answer = client.get(page, query_string=args)
        assert answer.status_code == 200, (args, answer.status_code)

    check()


@pytest.mark.postgres
def test_nul_in_a_search_is_not_a_postgresql_error(pg_client: FlaskClient) -> None:
    login(pg_client)
    for page in ("/ui/messages?entity=a%00b&text=%00", "/ui/alerts/history?rule=%00",
                 "/ui/windows?rule=%00", "/ui/notifications?status=%00"):
        assert pg_client.get(page).status_code == 200, page


@pytest.mark.postgres
def test_failed_login_with_odd_characters_is_recorded_on_postgresql(
        pg_client: FlaskClient, pg_app: Flask) -> None:
    page = pg_client.get("/ui/login").get_data(as_text=True)
    answer = pg_client.post("/ui/login", data={"username": "ev\x00il\U0001f600", "password": "x",
                                               "csrf_token": csrf_of(page)})
    assert answer.status_code == 401
    with pg_app.extensions["atsd_ui"].db.connect() as conn:
        users = [r.user for r in conn.execute(select(schema.security_incidents))]
    assert any(u and u.startswith("ev") for u in users)


def test_a_failing_dry_run_is_explained_not_a_bare_error(client: FlaskClient,
                                                         ui_app: Flask) -> None:
    def broken(rule: str, commands: object) -> object:
        raise RuntimeError("engine bug")

    ui_app.extensions["atsd_ui"].dry_run = broken
    token = login(client)
    answer = client.post("/ui/rules/dry-run", data={
        "csrf_token": token, "rule": "rocketchat-reply", "source": "command",
        "command": '{"entity": "e"}'})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 500 and "The dry run failed: RuntimeError" in html
    assert "engine bug" not in html  # details stay in the log
