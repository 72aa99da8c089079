"""The operator's web UI: server-rendered pages over the store, no build step.

:func:`install` registers the blueprint ``bp`` (``/ui/...``) on an app together with what the
pages need (:class:`UiServices`, built by the service from the parts it runs) and the ``/``
redirect. Templates live in ``webhook/templates/ui/``, the stylesheet and the one small script
in ``webhook/static/``.

Pages: login, overview, webhooks (+ detail, Replay), incidents, messages (search), alerts
(Acknowledge / Unacknowledge / Resolve), one alert (``/ui/alerts/ID``), alert history,
windows, rules (view, validate, Import, export, Dry run), notifications (attempts, Retry now),
status. Their data comes from
``rules.store.reports`` and ``rules.store.diagnostics``.
"""

from webhook.ui.blueprint import bp
from webhook.ui.context import RuleFileCheck, UiServices
from webhook.ui.setup import install

__all__ = ["RuleFileCheck", "UiServices", "bp", "install"]
