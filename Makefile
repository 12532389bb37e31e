# `make run` is the main job, `make test` the test suite; both build .venv from
# pyproject.toml first, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(PY) -m pinapi run

test: $(VENV)/.installed
	$(PY) -m pytest

clean:
	rm -rf $(VENV) build dist *.egg-info
