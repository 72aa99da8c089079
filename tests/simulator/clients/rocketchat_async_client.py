"""Runs inside the rocketchat-async 4.3.0 venv (websockets<11), never imports project code.

Usage: python rocketchat_async_client.py WS_URL USERNAME PASSWORD ROOM_ID EXPECT REPLY
Connects, logs in, lists rooms, subscribes to ROOM_ID, prints SUBSCRIBED, waits for a message
whose text is EXPECT, answers REPLY in the room, sends a typing event, prints a JSON summary.
"""

import asyncio
import json
import sys

from rocketchat_async import RocketChat


async def main(url, username, password, room_id, expect, reply):
    client = RocketChat()
    await client.start(url, username, password)
    channels = await client.get_channels()
    received = asyncio.get_running_loop().create_future()

    def on_message(channel_id, sender_id, msg_id, thread_id, msg, qualifier, unread, repeated):
        if msg == expect and not received.done():
            received.set_result(
                {"channel_id": channel_id, "sender_id": sender_id, "msg_id": msg_id}
            )

    await client.subscribe_to_channel_messages(room_id, on_message)
    print("SUBSCRIBED", flush=True)
    got = await asyncio.wait_for(received, 10)
    await client.send_message(reply, room_id)
    await client.send_typing_event(room_id)
    print(
        json.dumps({"user_id": client.user_id, "channels": channels, "received": got}), flush=True
    )


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:7]))
