"""Rocket.Chat's realtime API (DDP): a pure protocol state machine and an asyncio loop."""
