"""What the request log keeps of a request: headers read from the WSGI environ, masking."""

from __future__ import annotations

from werkzeug.datastructures import EnvironHeaders

from tests.webhook.conftest import RC_TOKEN, make_settings
from webhook.capture import MASK, capture_body, capture_headers, environ_headers, redact


def test_environ_headers_are_werkzeugs_headers() -> None:
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/x", "CONTENT_TYPE": "application/json",
               "CONTENT_LENGTH": "", "HTTP_HOST": "h", "HTTP_X_FORWARDED_FOR": "192.0.2.1",
               "HTTP_X_EMPTY": "", "HTTP_CONTENT_TYPE": "ignored", "wsgi.url_scheme": "http",
               "HTTP_AUTHORIZATION": "Basic abc"}
    assert environ_headers(environ) == tuple(EnvironHeaders(environ).items())
    assert environ_headers({"CONTENT_LENGTH": "3"}) == (("Content-Length", "3"),)


def test_captured_headers_and_body_hide_secrets() -> None:
    settings = make_settings()
    headers = (("Authorization", "Basic abc"), ("X-Api-Key", "k"), ("X-Note", "bot-pass here"),
               ("Accept", "*/*"))
    assert capture_headers(headers, settings) == {
        "Authorization": MASK, "X-Api-Key": MASK, "X-Note": f"{MASK} here", "Accept": "*/*"}
    body = f'{{"token": "{RC_TOKEN}", "text": "see ?Token=abc&x=1 and hook-pass"}}'.encode()
    assert capture_body(body, "application/json", settings) == (
        f'{{"token": "{MASK}", "text": "see ?Token={MASK}&x=1 and {MASK}"}}')
    assert redact("/p?a=1&TOKEN=x", settings) == f"/p?a=1&TOKEN={MASK}"
    assert redact("/p?a=hook-pass", settings) == f"/p?a={MASK}"  # a configured secret
