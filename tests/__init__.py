"""The test suite (the Rocket.Chat simulator lives in tests/rocketchat_server)."""
