# `make run` is the main job, `make test` the test suite; both build .venv from
# pyproject.toml first, so a fresh clone needs nothing else. `make c` measures
# the contract in C (c/) with gcc, sparse and spatch, which the system provides.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test c clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(PY) -m pinapi run

test: $(VENV)/.installed
	$(PY) -m pytest

C_TOOLS := gcc sparse spatch

c: $(VENV)/.installed
	@missing=; for t in $(C_TOOLS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
		echo "make c: missing:$$missing (apt-get install -y sparse coccinelle gcc)" >&2; exit 1; fi
	$(PY) -m pinapi._lab.c_contract

clean:
	rm -rf $(VENV) build dist *.egg-info
