"""Pages: Silences (list active and recent, create, expire) and one message with its ``why``.

Silences are read, made and ended through :class:`~webhook.ui.context.UiServices` callables
(the engine's, in the running service); matchers and durations are read by the same parsers
as the chat commands, and the author of a silence made here is ``<user> (web UI)``. The
message page shows a stored message and what the rules did with it, from what the engine
recorded when it processed it (:mod:`rules.engine.explain`).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import abort, flash, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from rules.definitions.durations import MAX_SILENCE, DurationError, parse_span
from rules.engine.explain import explain
from rules.silences import MAX_COMMENT, MatcherError, parse_words
from webhook.ui.blueprint import bp
from webhook.ui.context import services
from webhook.ui.mask import mask_mapping, mask_text

log = logging.getLogger(__name__)

RECENT = 50  # ended silences shown under the active ones


@bp.get("/silences")
def silences() -> str:
    svc = services()
    found = list(svc.list_silences(True)) if svc.list_silences is not None else []
    now = svc.now()
    active = [s for s in found if s.active(now)]
    ended = [s for s in found if not s.active(now)][:RECENT]
    return render_template("ui/silences.html", active=active, ended=ended,
                           can_change=svc.create_silence is not None, form=request.args)


@bp.post("/silences")
def create_silence() -> Response:
    svc = services()
    form = request.form
    words, duration = form.get("matchers", "").strip(), form.get("duration", "").strip()
    comment = form.get("comment", "").strip()
    # what was typed comes back in the form, so a typo is fixed, not typed again
    keep: dict[str, Any] = {"matchers": words[:500], "duration": duration[:40],
                            "comment": comment[:500]}
    if svc.create_silence is None or not svc.runs_engine():
        flash("The rule engine does not run on this instance; silences cannot be made here.",
              "error")
        return redirect(url_for("ui.silences", **keep))
    try:
        matchers = parse_words(words.split())
        span = parse_span(duration, maximum=MAX_SILENCE)
        if len(comment) > MAX_COMMENT:
            raise ValueError(f"the comment is longer than {MAX_COMMENT} characters")
    except (MatcherError, DurationError, ValueError) as exc:
        flash(f"Silence not made: {exc}", "error")
        return redirect(url_for("ui.silences", **keep))
    made = svc.create_silence(matchers, span, f"{session.get('user')} (web UI)", comment)
    log.info("ui: %s made silence %d (%s)", session.get("user"), made.id, made.describe())
    flash(f"Silence #{made.id} made: {made.describe()}.", "ok")
    return redirect(url_for("ui.silences"))


@bp.post("/silences/<int:silence_id>/expire")
def expire_silence(silence_id: int) -> Response:
    svc = services()
    if svc.expire_silence is None or not svc.runs_engine():
        flash("The rule engine does not run on this instance; silences cannot be ended here.",
              "error")
    elif svc.expire_silence(silence_id, f"{session.get('user')} (web UI)") is not None:
        log.info("ui: %s ended silence %d", session.get("user"), silence_id)
        flash(f"Silence #{silence_id} ended.", "ok")
    else:
        flash(f"Silence #{silence_id} is not active (unknown, or it already ended).", "error")
    return redirect(url_for("ui.silences"))


@bp.get("/messages/<int:message_id>")
def message_page(message_id: int) -> str:
    svc = services()
    with svc.db.connect() as conn:
        found = explain(conn, message_id)
    if found is None:
        abort(404, description=f"No stored message {message_id}.")
    secrets = svc.secrets()
    command = mask_mapping(found.command, secrets) or {}
    lines = [mask_text(line, secrets) for line in found.lines()]
    return render_template("ui/message.html", found=found, command=command, lines=lines)
