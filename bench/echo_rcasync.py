"""A minimal echo bot on rocketchat-async 4.3 (run in its own venv: it pins websockets<11).

Usage: python echo_rcasync.py WS_URL USERNAME TOKEN ROOM_ID
Logs in with ``resume``, subscribes to ROOM_ID and answers every message not its own with the
same text (DDP ``sendMessage``). Prints ``ready`` on stdout once subscribed. This is the
baseline ``bench/realtime.py`` compares atsd-bot with: it stores nothing.
"""

import asyncio
import sys

from rocketchat_async import RocketChat


async def main(address: str, username: str, token: str, room_id: str) -> None:
    rc = RocketChat()
    await rc.resume(address, username, token)

    def on_message(channel_id, sender_id, msg_id, thread_id, msg, qualifier, unread, repeated):
        if sender_id != rc.user_id and qualifier is None and not repeated:
            asyncio.ensure_future(rc.send_message(msg, channel_id))

    await rc.subscribe_to_channel_messages(room_id, on_message)
    print("ready", flush=True)
    await rc.run_forever()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
