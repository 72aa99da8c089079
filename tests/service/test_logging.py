"""Log formats and the redacting filter."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.service.log_setup import RedactingFilter, configure_logging

SECRET = "s3cret-Token-value"


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_text_format_redacts_message_args_and_traceback(restore_root: None) -> None:
    stream = io.StringIO()
    configure_logging("text", "INFO", [SECRET], stream=stream)
    log = logging.getLogger("t")
    log.info("login with %s", SECRET)
    try:
        raise ValueError(f"bad token {SECRET}")
    except ValueError:
        log.exception("failed")
    log.warning("extra field", extra={"detail": f"x{SECRET}y"})
    out = stream.getvalue()
    assert SECRET not in out
    assert "login with ***" in out and "ValueError: bad token ***" in out
    assert " INFO    t: " in out and out.splitlines()[0][23] == "Z"


def test_json_format_is_one_object_per_line(restore_root: None) -> None:
    stream = io.StringIO()
    configure_logging("json", "DEBUG", [SECRET], stream=stream)
    log = logging.getLogger("j")
    log.debug("plain")
    log.info("with extra", extra={"rule": "r1", "token": SECRET})
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        log.error("boom", exc_info=True)
    docs = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [d["message"] for d in docs] == ["plain", "with extra", "boom"]
    assert docs[1]["rule"] == "r1" and docs[1]["token"] == "***"
    assert "ZeroDivisionError" in docs[2]["exc"]
    assert docs[0]["time"].endswith("Z") and docs[0]["level"] == "DEBUG"


def test_short_values_are_not_treated_as_secrets() -> None:
    redactor = RedactingFilter(["on", "", "abcd"])
    assert redactor.redact("on and on, abcd") == "on and on, ***"


def test_longest_secret_is_masked_whole() -> None:
    redactor = RedactingFilter(["pass", "password1"])
    assert redactor.redact("x password1 y") == "x *** y"


def test_bad_format_and_level_are_refused(restore_root: None) -> None:
    with pytest.raises(ValueError, match="log format"):
        configure_logging("xml")
    with pytest.raises(ValueError, match="log level"):
        configure_logging("text", "LOUD")


def test_a_broken_format_string_still_logs() -> None:
    record = logging.LogRecord("b", logging.INFO, __file__, 1, "%d items", ("many",), None)
    assert RedactingFilter([SECRET]).filter(record)
    assert "items" in record.getMessage() and "many" in record.getMessage()
