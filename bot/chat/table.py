"""The table of chat commands (spec: conversation, section 1): name, syntax, example, what it
does, whether it is for bot admins, and the function that answers it."""

from __future__ import annotations

from bot.chat import alert_commands as alerts
from bot.chat import info_commands as info
from bot.chat import silence_commands as silences
from bot.chat.commands import Command

COMMANDS: dict[str, Command] = {c.name: c for c in (
    Command("help", "help [COMMAND]", "help silence",
            "the commands; with a name, that command's syntax, example and who may run it",
            handler=info.help_command),
    Command("alerts", "alerts [MATCHERS]", "alerts entity=db1 severity>=MAJOR",
            "open alerts, newest first: id, severity, rule, entity, age, ack and silence marks; "
            "matchers as for `silence`", handler=alerts.list_alerts),
    Command("alert", "alert ID", "alert #42",
            "one alert: rule, entity, tags, severity, status, times, repeats, last text, who "
            "acknowledged, the silence covering it", handler=alerts.show_alert),
    Command("ack", "ack ID [REASON...]", "ack 42 looking into it",
            "acknowledge an alert (recorded with who and why)", admin=True, handler=alerts.ack),
    Command("unack", "unack ID", "unack 42", "take an acknowledgement back", admin=True,
            handler=alerts.unack),
    Command("resolve", "resolve ID [REASON...]", "resolve 42 fixed by hand",
            "close an alert by hand: it goes to history with who and why, and its window "
            "starts again from CANCEL", admin=True, handler=alerts.resolve),
    Command("silence", "silence MATCHERS DURATION [COMMENT...]",
            "silence entity=db1 2h disk swap",
            "create a silence. Matchers: rule=NAME, entity=NAME, severity<=LEVEL, "
            "severity>=LEVEL, tags.K=V, with * and ? patterns, all must hold; a bare word is "
            "a rule name. Duration: 90s, 15m, 2h, 1h30m, 2d, 1w or '2 hour', at most 90d",
            admin=True, handler=silences.silence),
    Command("silences", "silences", "silences",
            "active silences: id, matchers, author, comment, expiry",
            handler=silences.list_silences),
    Command("unsilence", "unsilence ID", "unsilence #3",
            "end a silence now (its room is told)", admin=True, handler=silences.unsilence),
    Command("why", "why [MESSAGE_ID]", "why",
            "what the rules did with a message: by default your previous message in this room; "
            "MESSAGE_ID is a stored message number or a Rocket.Chat message id or link",
            handler=info.why),
    Command("rules", "rules", "rules", "the loaded rules", handler=info.rules),
    Command("status", "status", "status",
            "uptime, the realtime connection, the last message per path, the outbox",
            handler=info.status),
    Command("test", "test RULE MESSAGE...", "test disk-full /var is 97% full",
            "what RULE would do with MESSAGE: a dry run that sends nothing", handler=info.test),
)}
