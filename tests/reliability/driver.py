"""A webhook client in its own process that behaves like Rocket.Chat's outgoing integration.

``python -m tests.reliability.driver PLAN OUT URL`` reads a JSON list of messages
(``{"id", "channel", "text"}``), posts each to the service (the seed's URL shape:
``?message=<text>&exclude=text``) and retries on connection errors and 5xx until it gets a
200, as Rocket.Chat retries. URL may be a comma-separated list of instances: messages are
spread over them and a retry goes to the next one, as a load balancer would. Channels are
split over threads and each channel's messages go in order, so the acknowledged sequence per
channel is the plan's. Every 200 is appended to OUT as one JSON line (flushed at once), so
what was acknowledged survives a kill of the test.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any

import requests

from tests.reliability.harness import HOOK_PASSWORD, HOOK_TOKEN, HOOK_USER, WEBHOOK_PATH

THREADS = 4
GIVE_UP_SECONDS = 180.0


def body(message: dict[str, Any]) -> dict[str, Any]:
    return {"token": HOOK_TOKEN, "bot": False, "channel_id": message["channel"],
            "channel_name": "chaos", "message_id": message["id"],
            "timestamp": "2026-11-28T07:00:00.000Z", "user_id": "driverUser0000001",
            "user_name": "driver", "text": message["text"], "siteUrl": "http://sim/"}


def post_until_ok(session: requests.Session, urls: list[str],
                  message: dict[str, Any]) -> dict[str, Any]:
    import time

    turn = sum(map(ord, message["id"]))
    started = time.monotonic()
    pause = threading.Event()
    attempts = 0
    while True:
        attempts += 1
        url = urls[(turn + attempts) % len(urls)]
        try:
            answer = session.post(url, params={"message": message["text"], "exclude": "text"},
                                  json=body(message), auth=(HOOK_USER, HOOK_PASSWORD), timeout=10)
            if answer.status_code == 200:
                return {"id": message["id"], "attempts": attempts, "via": url,
                        "status": answer.json().get("status")}
            if answer.status_code < 500:
                return {"id": message["id"], "attempts": attempts, "error": answer.status_code,
                        "body": answer.text[:300]}
        except requests.RequestException:
            session.close()  # a killed server leaves dead keep-alive connections behind
        if time.monotonic() - started > GIVE_UP_SECONDS:
            return {"id": message["id"], "attempts": attempts, "error": "gave up"}
        pause.wait(0.05)  # Rocket.Chat backs off between retries too


def run(plan: list[dict[str, Any]], out: Path, base_url: str) -> None:
    urls = [base + WEBHOOK_PATH for base in base_url.split(",")]
    lock = threading.Lock()
    channels = sorted({m["channel"] for m in plan})
    with open(out, "a") as sink:
        def worker(index: int) -> None:
            mine = set(channels[index::THREADS])
            session = requests.Session()
            for message in plan:
                if message["channel"] in mine:
                    result = post_until_ok(session, urls, message)
                    with lock:
                        sink.write(json.dumps(result) + "\n")
                        sink.flush()

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


if __name__ == "__main__":
    run(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]), sys.argv[3])
