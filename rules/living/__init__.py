"""The living alert message (rule option ``conversation: thread``).

One Rocket.Chat message per alert tells its story: REPEATs, notes and the cancel text go into
its thread, acknowledgements and the resolution edit it, a state reaction shows where it
stands, a window that flaps continues its previous message, and past a room's budget new
alerts fold into one summary message. :mod:`rules.living.stories` writes the rows in the
engine's transaction, :mod:`rules.living.views` renders a message for the endpoint, and
:mod:`rules.living.text` holds the words. No Rocket.Chat I/O here: the endpoint
(``bot/rest/endpoint.py``) does that from the outbox rows.
"""

from rules.living.stories import RoomBudget, Stories, Subject, Told
from rules.living.views import LivingViews, MessageView

__all__ = ["LivingViews", "MessageView", "RoomBudget", "Stories", "Subject", "Told"]
