"""Provisioning over Rocket.Chat's REST API: the bot user, the outgoing integration, a self-test."""

__all__ = ["check_integration", "create_bot_user", "create_outgoing_integration"]
