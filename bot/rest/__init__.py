"""Rocket.Chat's REST API: the typed client, its errors, the Rocket.Chat endpoint, the probe.

The lowest layer of the bot's Rocket.Chat side: the chat and realtime adapters and the
provisioning scripts build on it; it imports neither of them. ``metrics`` holds the counters
every Rocket.Chat adapter increments.
"""

from bot.rest.client import RestClient
from bot.rest.endpoint import RocketChatEndpoint
from bot.rest.errors import RestRejected, RestUnavailable
from bot.rest.probe import ProbeReport, probe

__all__ = ["ProbeReport", "RestClient", "RestRejected", "RestUnavailable", "RocketChatEndpoint",
           "probe"]
