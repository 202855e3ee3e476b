# Two commands for a fresh machine: `make up` and `make test` (see README.md).
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: up test lint services browser bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

up: $(STAMP)
	$(BIN)/roundhouse up

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

services:
	scripts/ensure-services

browser:
	scripts/ensure-chromium
	scripts/ensure-axe

test: $(STAMP) services browser lint
	scripts/ensure-bwrap
	scripts/ensure-podman
	scripts/ensure-debootstrap
	$(BIN)/pytest -q -n 3 -m "not serial"
	$(BIN)/pytest -q -m serial

bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .roundhouse .pytest_cache .mypy_cache .ruff_cache
