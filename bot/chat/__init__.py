"""Chat messages in, chat commands answered: the adapter between Rocket.Chat messages and rules.

``messages`` turns a Rocket.Chat message into the one message command both inbound paths
make and hands it to the ingestor, after offering it to the chat command desk; ``desk`` is that
desk (recognise, answer once, through the outbox), ``table`` the commands, ``commands`` what
they are made of, ``alert_commands`` / ``silence_commands`` / ``info_commands`` what they do;
``admins`` who may change state; ``replies`` some texts; ``edits`` the once-only key of an
edited message.
"""

from bot.chat.desk import CommandDesk
from bot.chat.messages import ChatListener, Outcome, RoomDirectory, message_key, to_command
from bot.chat.table import COMMANDS

__all__ = ["COMMANDS", "ChatListener", "CommandDesk", "Outcome", "RoomDirectory", "message_key",
           "to_command"]
