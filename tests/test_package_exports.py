"""The packages of the rule domain export what their ``__all__`` lists, and nothing private."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = ("rules.expr", "rules.engine", "rules.definitions")


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_name_resolves_and_is_public(name: str) -> None:
    package = importlib.import_module(name)
    assert package.__doc__ and "TODO" not in package.__doc__
    for exported in package.__all__:
        assert not exported.startswith("_"), f"{name} exports a private name: {exported}"
        assert getattr(package, exported, None) is not None, f"{name}.{exported} is missing"

