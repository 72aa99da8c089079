"""The rule engine shared by both inbound paths, and the store it keeps its state in."""
