"""The JSON APIs beside the webhook, each a Flask blueprint needing role ``api`` (or ``admin``).

- ``messages_api`` (:mod:`~webhook.api.messages`): ATSD's messages query and insert, the
  webhook request log and the security incidents; ``create_app`` always registers it.
- ``rules_api`` (:mod:`~webhook.api.rules`): ATSD's alert query, update and history, and the
  rule diagnostics; the service registers it where the rule engine runs.
- ``conversation_api`` (:mod:`~webhook.api.conversation`): silences (list, create, expire)
  and ``/api/v1/messages/ID/explain``; registered beside ``rules_api``.

Query bodies are parsed and checked by :mod:`~webhook.api.messages_query` and
:mod:`~webhook.api.alert_query`; a malformed one is a 400 naming the field.
"""

from webhook.api.conversation import bp as conversation_api
from webhook.api.messages import api as messages_api
from webhook.api.rules import bp as rules_api

__all__ = ["conversation_api", "messages_api", "rules_api"]
