"""The UI in headless Chromium (Debian's package) through Playwright, against a real service.

Logs in, sees a webhook request arrive after a POST, opens its detail, replays it,
acknowledges an open alert, imports a rule file with an error and sees the error, dry-runs a
rule; on the Silences page makes a silence (after a typo), sees the notification it held and
the message's why, and expires it; saves a screenshot of every page under tests/artifacts/
(git-ignored).
"""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.config import build_settings
from bot.service.runtime import Runtime

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ADMIN = ("operator", "op-browser-pass")
HOOK = ("rocketchat", "hook-browser-pass")
RULE = """
rules:
  - name: rocketchat_reply
    source: [rocket.chat]
    window: length(1)
    severity: WARNING
    notifications:
      - endpoint: log
        open: {enabled: true, text: 'User ${tags.alias}/@${tags.user_name} said "${message}"'}
        repeat: {enabled: true, text: 'User ${tags.alias}/@${tags.user_name} said "${message}"'}
"""
BAD_RULE = b"rules:\n  - name: broken\n    window: length(0)\n    condition: 'a ==== b'\n"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    base = tmp_path_factory.mktemp("browser")
    (base / "rules.d").mkdir()
    (base / "rules.d" / "seed.yml").write_text(RULE)
    settings = build_settings({
        "http": {"port": 0, "threads": 4},
        "database": {"url": f"sqlite:///{base / 'atsd.db'}"},
        "users": [{"name": ADMIN[0], "password": ADMIN[1], "roles": ["admin", "api"]},
                  {"name": HOOK[0], "password": HOOK[1], "roles": ["webhook"]}],
        "rules": {"paths": [str(base / "rules.d")]},
    }, base_dir=base)
    runtime = Runtime(settings)
    runtime.start()
    yield runtime
    runtime.stop()


@pytest.fixture(scope="module")
def browser_page(service: Runtime) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 768},
                                      timezone_id="Europe/Berlin")
        page = context.new_page()
        page.set_default_timeout(15000)
        yield page
        context.close()
        browser.close()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"ui-{name}.png"), full_page=True)


def post_webhook(service: Runtime, text: str) -> None:
    token = base64.b64encode(f"{HOOK[0]}:{HOOK[1]}".encode()).decode()
    answer = requests.post(
        f"{service.base_url}/api/v1/messages/webhook/rocket.chat?command.message=text"
        "&exclude=text", headers={"Authorization": f"Basic {token}"}, timeout=10,
        json={"text": text, "user_name": "alice", "message_id": f"m-{text}",
              "channel_id": "GENERAL"})
    assert answer.status_code == 200, answer.text


def test_the_operator_walkthrough(service: Runtime, browser_page: Any) -> None:
    from playwright.sync_api import expect

    page, base = browser_page, service.base_url
    # log in
    page.goto(base + "/")
    expect(page).to_have_url(f"{base}/ui/login?next=/ui/")
    shot(page, "login")
    page.fill("input[name=username]", ADMIN[0])
    page.fill("input[name=password]", ADMIN[1])
    page.click("button:has-text('Log in')")
    expect(page.locator("h1")).to_have_text("Overview")

    # a webhook request arrives after a POST
    page.goto(base + "/ui/webhooks")
    expect(page.locator("p.empty")).to_contain_text("No webhook requests yet")
    post_webhook(service, "hello @atsd_bot")
    page.click("text=Refresh")
    row = page.locator("table.list tbody tr").first
    expect(row).to_contain_text("/api/v1/messages/webhook/rocket.chat")
    expect(row).to_contain_text("stored")
    # times are shown in the viewer's zone: the UTC fallback text was replaced by the script
    expect(row.locator("time")).not_to_contain_text("UTC")
    shot(page, "webhooks")

    # its detail, then Replay
    row.locator("td a").first.click()
    expect(page.locator("h1")).to_contain_text("Webhook request")
    expect(page.locator("pre.code").first).to_contain_text('"message": "hello @atsd_bot"')
    shot(page, "webhook-detail")
    page.click("button:has-text('Replay')")
    expect(page.locator(".flash-ok")).to_contain_text("Replayed request 1: duplicate")
    shot(page, "webhook-replayed")

    # acknowledge the open alert
    page.goto(base + "/ui/alerts")
    expect(page.locator("table.list")).to_contain_text("rocketchat_reply")
    shot(page, "alerts")
    page.click("button:has-text('Acknowledge')")
    expect(page.locator(".flash-ok")).to_contain_text("Acknowledged alert 1.")
    expect(page.locator("button:has-text('Unacknowledge')")).to_be_visible()

    # import a rule file with an error and see the error
    page.goto(base + "/ui/rules")
    page.set_input_files("input[type=file]", files=[{
        "name": "broken.yml", "mimeType": "text/yaml", "buffer": BAD_RULE}])
    page.click("button:has-text('Import')")
    result = page.locator("#import-result")
    expect(result).to_contain_text("Not imported.")
    expect(result).to_contain_text("broken")
    shot(page, "rules-import-error")

    # dry-run a rule against a pasted command
    page.select_option("select[name=rule]", "rocketchat_reply")
    page.click("button:has-text('Dry run')")
    expect(page.locator("#dry-run-result")).to_contain_text(
        'User /@alice said "hello @atsd_bot"')
    shot(page, "rules-dry-run")

    # the window the message opened
    page.goto(base + "/ui/windows")
    expect(page.locator("table.list")).to_contain_text("rocketchat_reply")
    expect(page.locator("table.list")).to_contain_text("OPEN")


def logged_in(page: Any, service: Runtime, path: str) -> None:
    page.goto(service.base_url + path)
    if "/ui/login" in page.url:  # when run alone
        page.fill("input[name=username]", ADMIN[0])
        page.fill("input[name=password]", ADMIN[1])
        page.click("button:has-text('Log in')")
        page.goto(service.base_url + path)


def test_silences_page(service: Runtime, browser_page: Any) -> None:
    """Create a silence, see it held a notification, read the message's why, expire it."""
    from playwright.sync_api import expect

    page = browser_page
    logged_in(page, service, "/ui/silences")
    expect(page.locator("h1")).to_have_text("Silences")
    # a typo is said, and what was typed stays in the form
    page.fill("input[name=matchers]", "colour=red")
    page.fill("input[name=duration]", "2h")
    page.click("button:has-text('Create')")
    expect(page.locator(".flash-error")).to_contain_text("unknown matcher field 'colour'")
    expect(page.locator("input[name=duration]")).to_have_value("2h")
    page.fill("input[name=matchers]", "rule=rocketchat_reply entity=rocket.chat")
    page.fill("input[name=duration]", "90d")
    page.fill("input[name=comment]", "browser test")
    page.click("button:has-text('Create')")
    expect(page.locator(".flash-ok")).to_contain_text("Silence #")
    active = page.locator("#active-silences")
    expect(active).to_contain_text("rule=rocketchat_reply entity=rocket.chat")
    expect(active).to_contain_text("operator (web UI)")
    expect(active.locator("time").first).not_to_contain_text("UTC")
    shot(page, "silences")

    # a message the silence holds: the notification log names the silence
    post_webhook(service, "held by the silence")
    page.goto(service.base_url + "/ui/notifications?status=silenced")
    row = page.locator("table.list tbody tr").first
    expect(row).to_contain_text("silenced")
    expect(row.locator("a:has-text('by silence #')")).to_be_visible()
    shot(page, "notifications-silenced")

    # the message page says why nothing was sent
    page.goto(service.base_url + "/ui/messages?last=all&text=held")
    page.locator("table.list tbody tr td a").first.click()
    expect(page.locator("h1")).to_contain_text("Message")
    expect(page.locator("#why")).to_contain_text("suppressed by silence #")
    shot(page, "message-why")

    # expire it: it moves to the recently ended list
    page.goto(service.base_url + "/ui/silences")
    page.locator("#active-silences button:has-text('Expire')").first.click()
    expect(page.locator(".flash-ok")).to_contain_text("ended.")
    expect(page.locator("#ended-silences")).to_contain_text("operator (web UI)")
    expect(page.locator("p.empty").first).to_contain_text("No active silences.")


@pytest.mark.parametrize("path,name,heading", [
    ("/ui/", "overview", "Overview"),
    ("/ui/incidents", "incidents", "Security Incidents"),
    ("/ui/messages?last=all", "messages", "Messages"),
    ("/ui/alerts/history", "history", "Alert History"),
    ("/ui/windows", "windows", "Rule Windows"),
    ("/ui/notifications", "notifications", "Notifications"),
    ("/ui/status", "status", "Status"),
    ("/ui/silences", "silences-list", "Silences"),
])
def test_every_page_renders(service: Runtime, browser_page: Any, path: str, name: str,
                            heading: str) -> None:
    from playwright.sync_api import expect

    page = browser_page
    logged_in(page, service, path)
    expect(page.locator("h1")).to_have_text(heading)
    shot(page, name)
