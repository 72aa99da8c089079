"""The Silences page (list active and recent, create, expire; CSRF like every form) and the
message page with its ``why``, through Flask's test client."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from rules.store import explanations
from tests.ui.conftest import login


def test_create_list_and_expire(client: FlaskClient) -> None:
    token = login(client)
    page = client.get("/ui/silences").get_data(as_text=True)
    assert "No active silences." in page and 'name="matchers"' in page
    made = client.post("/ui/silences", data={
        "csrf_token": token, "matchers": "entity=db1 severity>=MAJOR", "duration": "2h",
        "comment": "swap <b>disks</b>"}, follow_redirects=True)
    html = made.get_data(as_text=True)
    assert "Silence #1 made: entity=db1 severity&gt;=MAJOR." in html
    assert 'id="silence-1"' in html and "operator (web UI)" in html
    assert "swap &lt;b&gt;disks&lt;/b&gt;" in html  # escaped, never markup
    ended = client.post("/ui/silences/1/expire", data={"csrf_token": token},
                        follow_redirects=True).get_data(as_text=True)
    assert "Silence #1 ended." in ended and 'id="ended-silences"' in ended
    again = client.post("/ui/silences/1/expire", data={"csrf_token": token},
                        follow_redirects=True).get_data(as_text=True)
    assert "Silence #1 is not active" in again


def test_bad_input_is_said_and_kept_in_the_form(client: FlaskClient) -> None:
    token = login(client)
    for matchers, duration, says in (("colour=red", "1h", "unknown matcher field"),
                                     ("entity=db1", "30", "has no unit"),
                                     ("entity=db1", "91d", "longer than the limit of 90d"),
                                     ("", "1h", "no matchers")):
        html = client.post("/ui/silences", data={"csrf_token": token, "matchers": matchers,
                                                  "duration": duration},
                           follow_redirects=True).get_data(as_text=True)
        assert "Silence not made:" in html and says in html
        assert f'value="{duration}"' in html
    assert "No active silences." in html


def test_forms_need_the_csrf_token(client: FlaskClient) -> None:
    login(client)
    answer = client.post("/ui/silences", data={"matchers": "entity=db1", "duration": "1h"})
    assert answer.status_code == 400
    assert "No active silences." in client.get("/ui/silences").get_data(as_text=True)
    assert client.post("/ui/silences/1/expire", data={}).status_code == 400


def test_the_message_page_shows_why(client: FlaskClient, ui_app: Flask) -> None:
    login(client)
    message_id = ui_app.extensions["seed"]["message"]
    page = client.get(f"/ui/messages/{message_id}").get_data(as_text=True)
    assert "nothing was recorded for it" in page and "hello &lt;b&gt;@atsd_bot" in page
    services = ui_app.extensions["atsd_ui"]
    with services.db.begin() as conn:
        explanations.record(conn, message_id, [{"r": "disk", "f": "message LIKE '*disk*' "
                                                                   "is false"}])
    page = client.get(f"/ui/messages/{message_id}").get_data(as_text=True)
    assert "• `disk`: filtered out: message LIKE &#39;*disk*&#39; is false" in page
    assert client.get("/ui/messages/424242").status_code == 404
    listing = client.get("/ui/messages?last=all").get_data(as_text=True)
    assert f'href="/ui/messages/{message_id}"' in listing


def test_open_alerts_show_the_silence_that_holds_them(client: FlaskClient) -> None:
    token = login(client)
    assert "silenced by" not in client.get("/ui/alerts").get_data(as_text=True)
    client.post("/ui/silences", data={"csrf_token": token, "matchers": "rocketchat-reply",
                                      "duration": "1h"})
    page = client.get("/ui/alerts").get_data(as_text=True)
    assert 'href="/ui/silences#silence-1">silenced by #1</a>' in page
