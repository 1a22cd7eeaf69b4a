# Every target sets up .venv on first use, so a fresh clone needs nothing but `make test` or `make run`.
# Two stamps: `make run` and `make demo` install only what running needs; `make test`, `lint` and `bench` add the
# dev tools (pytest, ruff, mypy, …) on top.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $(RUNTIME_STAMP)

$(DEV_STAMP): pyproject.toml $(RUNTIME_STAMP)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP)

run: $(RUNTIME_STAMP)
	$(BIN)/python -m bot

# The real bot in this terminal, on a stand-in Telegram and the SMS simulator; no token, no credit, no network.
# Scriptable: printf '/send 0712345678 Hello\n/balance\n' | make demo
demo: $(RUNTIME_STAMP)
	@$(BIN)/python -m bot.demo

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo --no-cache

test: lint
	$(BIN)/pytest

bench: $(DEV_STAMP)
	$(BIN)/python -m bench.storage
	$(BIN)/python -m bench.commands
	$(BIN)/python -m bench.bulk
	$(BIN)/python -m bench.sms_text
	$(BIN)/python -m bench.postgres

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
