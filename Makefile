# Every target sets up .venv on first use, so a fresh clone needs nothing but `make test` or `make run`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot

# The real bot in this terminal, on a stand-in Telegram and the SMS simulator; no token, no credit, no network.
# Scriptable: printf '/send 0712345678 Hello\n/balance\n' | make demo
demo: $(STAMP)
	@$(BIN)/python -m bot.demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo --no-cache

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench.storage
	$(BIN)/python -m bench.commands
	$(BIN)/python -m bench.bulk
	$(BIN)/python -m bench.sms_text
	$(BIN)/python -m bench.postgres

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
