"""Provisioning over Rocket.Chat's REST API: the bot user, the outgoing integration, a self-test."""
