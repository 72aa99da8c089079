"""Operating atsd-bot: init, config check/show, errors and exit codes, reload, retention."""
