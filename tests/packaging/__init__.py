"""What a user installs and reads: the built wheel, the docs and the examples, checked."""
