# Every target creates .venv on first use, so a fresh clone needs nothing but python3 and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The main job: a simulated estate on an embedded SQLite database, then the API with live
# traffic until Ctrl-C. `make demo DEMO_ARGS=--no-serve` stops after the summary.
demo: $(STAMP)
	$(VENV)/bin/stockplane demo $(DEMO_ARGS)

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) bench/diff_bench.py

clean:
	rm -rf $(VENV) dist build .pytest_cache .ruff_cache
