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

# a few minutes at a steady rate: RSS, open fds and latency per interval (docs/reliability.md)
soak: $(STAMP)
	$(BIN)/python bench/soak.py --seconds 180 --rate 40 --interval 15

# the long reliability variants (3000 requests and 8 SIGKILLs per store, REST down a minute)
# and every fuzz suite with ten times the examples (tens of thousands of inputs)
chaos: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q -p no:cacheprovider -m "slow or not slow" \
		-k "chaos or fuzz" tests/reliability tests/fuzz tests/webhook/test_fuzz.py \
		tests/loader/test_fuzz.py tests/api_rules/test_fuzz_api.py

clean:
	rm -rf $(VENV) build *.egg-info tests/artifacts
