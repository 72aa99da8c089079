"""atsd-bot: the service, its configuration and its Rocket.Chat side."""

__version__ = "0.1.0"

__all__ = ["__version__"]
