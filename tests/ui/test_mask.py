"""What the UI hides: secret headers, body fields, query parameters, URL passwords."""

from __future__ import annotations

import json

from webhook.ui.mask import mask_body, mask_headers, mask_mapping, mask_query, mask_text

SECRETS = ["conf-secret-1"]


def test_secret_headers_are_masked_others_kept() -> None:
    shown = mask_headers({"Authorization": "Basic abc", "X-Auth-Token": "t", "Cookie": "c",
                          "Content-Type": "application/json",
                          "X-Note": "has conf-secret-1 inside"}, SECRETS)
    assert shown == {"Authorization": "***", "X-Auth-Token": "***", "Cookie": "***",
                     "Content-Type": "application/json", "X-Note": "has *** inside"}


def test_json_body_secret_fields_masked_at_any_depth() -> None:
    body = json.dumps({"text": "hi", "token": "abc", "user": {"password": "p", "name": "n"},
                       "list": [{"api_key": "k"}]})
    shown = json.loads(mask_body(body, "application/json", SECRETS))
    assert shown == {"text": "hi", "token": "***", "user": {"password": "***", "name": "n"},
                     "list": [{"api_key": "***"}]}


def test_form_body_and_plain_text() -> None:
    assert mask_body("a=1&token=xyz", "application/x-www-form-urlencoded", []) == \
        "a=1&token=%2A%2A%2A"
    assert mask_body("see https://u:pw@host/x and conf-secret-1", "text/plain", SECRETS) == \
        "see https://u:***@host/x and ***"
    assert mask_body("{not json", "application/json", []) == "{not json"


def test_query_parameters_with_secret_names() -> None:
    assert mask_query("/api/v1/messages/webhook/x?entity=e&token=abc", []) == \
        "/api/v1/messages/webhook/x?entity=e&token=%2A%2A%2A"
    assert mask_query("/p?a=1", []) == "/p?a=1"


def test_mapping_masks_values_and_configured_secrets() -> None:
    data = {"tags": {"note": "conf-secret-1", "secret_code": "x"}, "n": 1}
    assert mask_mapping(data, SECRETS) == {"tags": {"note": "***", "secret_code": "***"},
                                           "n": 1}
    assert mask_mapping(None, SECRETS) is None


def test_deep_nesting_is_bounded() -> None:
    deep: dict[str, object] = {}
    node = deep
    for _ in range(200):
        node["a"] = {}
        node = node["a"]  # type: ignore[assignment]
    assert "***" in json.dumps(mask_mapping(deep, []))


def test_mask_text_leaves_short_values() -> None:
    assert mask_text("on", ["on"]) == "on"
