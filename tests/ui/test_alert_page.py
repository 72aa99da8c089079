"""The page of one alert (``/ui/alerts/ID``, where the chat message's ``Open`` button leads):
open or closed, its notifications with their delivery state, Acknowledge / Resolve forms with
CSRF, a 404 page for an unknown id, and the links from the alert tables."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from rules.store.tables import engine as es
from tests.ui.conftest import ADMIN, Calls, csrf_of, login


def _closed_id(app: Flask) -> int:
    with app.extensions["atsd_ui"].db.connect() as conn:
        return int(conn.execute(select(es.alerts.c.id).where(es.alerts.c.entity == "old"))
                   .scalar_one())


def test_the_page_needs_a_login(client: FlaskClient, ui_app: Flask) -> None:
    answer = client.get(f"/ui/alerts/{ui_app.extensions['seed']['alert']}")
    assert answer.status_code == 302 and "/ui/login" in answer.headers["Location"]


def test_an_open_alert_with_its_notifications_and_forms(client: FlaskClient,
                                                        ui_app: Flask) -> None:
    login(client)
    alert_id = ui_app.extensions["seed"]["alert"]
    answer = client.get(f"/ui/alerts/{alert_id}")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert f'id="alert-{alert_id}"' in html and "rocketchat-reply / rocket.chat" in html
    assert "hello @atsd_bot" in html and "channel_id=GENERAL" in html
    # its notification, with the delivery state and the attempt log
    assert "User /@alice said" in html and 'badge n-failed">failed' in html
    assert "HTTP 500 from Rocket.Chat" in html and "boom" in html
    assert ">Acknowledge</button>" in html and ">Resolve</button>" in html
    assert "No living message" in html
    # the tables link here
    for page in ("/ui/alerts", "/ui/"):
        listed = client.get(page).get_data(as_text=True)
        assert f'<tr id="alert-{alert_id}"' in listed
        assert f'href="/ui/alerts/{alert_id}"' in listed


def test_acknowledge_and_resolve_from_the_page_come_back_to_it(
        client: FlaskClient, ui_app: Flask, calls: Calls) -> None:
    token = login(client)
    alert_id = ui_app.extensions["seed"]["alert"]
    html = client.post(f"/ui/alerts/{alert_id}/acknowledge",
                       data={"csrf_token": token, "back": "alert", "reason": "looking"},
                       follow_redirects=True).get_data(as_text=True)
    assert f"Acknowledged alert {alert_id}." in html and f"Alert {alert_id}:" in html
    assert calls.acked == [(alert_id, True)]
    html = client.post(f"/ui/alerts/{alert_id}/resolve",
                       data={"csrf_token": token, "back": "alert", "reason": "fixed"},
                       follow_redirects=True).get_data(as_text=True)
    assert f"Resolved alert {alert_id}." in html and "closed (RESOLVED)" in html
    assert ">Resolve</button>" not in html and ">Acknowledge</button>" not in html
    assert calls.resolved == [(alert_id, f"{ADMIN[0]} (web UI)", "fixed")]


def test_a_form_without_the_csrf_token_changes_nothing(client: FlaskClient,
                                                       ui_app: Flask, calls: Calls) -> None:
    login(client)
    alert_id = ui_app.extensions["seed"]["alert"]
    answer = client.post(f"/ui/alerts/{alert_id}/resolve",
                         data={"csrf_token": "forged", "back": "alert"})
    assert answer.status_code == 400 and calls.resolved == []


def test_a_resolved_alert_from_history(client: FlaskClient, ui_app: Flask) -> None:
    login(client)
    closed = _closed_id(ui_app)
    with ui_app.extensions["atsd_ui"].db.begin() as conn:
        conn.execute(update(es.alerts).where(es.alerts.c.id == closed).values(
            close_reason="RESOLVED", closed_by="@boss", close_note="disk swapped",
            ack_by="@alice", ack_reason="on it", acknowledged=True))
    html = client.get(f"/ui/alerts/{closed}").get_data(as_text=True)
    assert "closed (RESOLVED)" in html and "by @boss: disk swapped" in html
    assert "after 00:01:10:00" in html and "yes by @alice: on it" in html
    assert ">Resolve</button>" not in html and ">Acknowledge</button>" not in html
    assert "← Alert History" in html
    listed = client.get("/ui/alerts/history").get_data(as_text=True)
    assert f'<tr id="alert-{closed}"' in listed and f'href="/ui/alerts/{closed}"' in listed


def test_an_unknown_alert_is_a_404_page(client: FlaskClient) -> None:
    login(client)
    answer = client.get("/ui/alerts/424242")
    assert answer.status_code == 404
    html = answer.get_data(as_text=True)
    assert "No alert 424242" in html and csrf_of(html)  # the site's page, logged in
