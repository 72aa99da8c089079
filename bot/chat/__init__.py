"""Chat messages in, chat commands answered: the adapter between Rocket.Chat messages and rules.

``messages`` turns a Rocket.Chat message into the one message command both inbound paths
make and hands it to the ingestor (or a chat command to ``commands``); ``replies`` holds the
texts commands answer with; ``edits`` the once-only key of an edited message.
"""

from bot.chat.commands import ChatCommands
from bot.chat.messages import ChatListener, Outcome, RoomDirectory, message_key, to_command

__all__ = ["ChatCommands", "ChatListener", "Outcome", "RoomDirectory", "message_key",
           "to_command"]
