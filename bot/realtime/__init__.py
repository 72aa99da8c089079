"""Rocket.Chat's realtime API (DDP): a pure protocol state machine and an asyncio client.

``protocol`` is sans-I/O (frames in, events out); ``connection`` drives one websocket;
``client`` composes a connection, a reconnect policy, the message pipeline and back-fill;
``wiring`` builds the client, the listener and the Rocket.Chat endpoint together.
"""

from bot.realtime.client import RealtimeClient
from bot.realtime.connection import Dropped, RealtimeOptions
from bot.realtime.reconnect import ReconnectPolicy
from bot.realtime.status import RealtimeFatal, RealtimeStatus
from bot.realtime.wiring import RealtimeBot, build_realtime_bot

__all__ = ["Dropped", "RealtimeBot", "RealtimeClient", "RealtimeFatal", "RealtimeOptions",
           "RealtimeStatus", "ReconnectPolicy", "build_realtime_bot"]
