# atsd-bot: the two set-up commands are `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint types bench soak chaos clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,lint]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot demo run

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy bot webhook rules scripts

bench: $(STAMP)
	$(BIN)/python bench/webhook.py
	$(BIN)/python bench/rules.py

soak: $(STAMP)
	$(BIN)/python -m pytest -q -m slow -k soak -p no:cacheprovider

chaos: $(STAMP)
	$(BIN)/python -m pytest -q -m slow -k chaos -p no:cacheprovider

clean:
	rm -rf $(VENV) build *.egg-info tests/artifacts
