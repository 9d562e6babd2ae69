# `make site` builds the example publication; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: site test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

site: $(VENV)/.installed
	$(BIN)/pipeline build

test: $(VENV)/.installed-test
	@# pytest exits 5 when it collected nothing: count that as a failure.
	$(BIN)/python -m pytest -n 2 --dist loadfile; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

lint: $(VENV)/.installed-test
	$(BIN)/ruff check pipeline tests benchmarks
	$(BIN)/ruff format --check pipeline tests benchmarks

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_check.py --articles 10000 --references 20000
	$(BIN)/python benchmarks/bench_build.py --articles 2000

clean:
	rm -rf $(VENV) site build
