# Two commands from a fresh clone: `make demo` and `make test`. Both set up .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: test lint typecheck pytest coverage demo bench soak docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-test: $(BIN)/python setup.cfg pyproject.toml requirements/test.txt
	$(BIN)/python -m pip install --quiet -r requirements/test.txt
	touch $@

$(VENV)/.installed-docs: $(BIN)/python setup.cfg pyproject.toml requirements/docs.txt
	$(BIN)/python -m pip install --quiet -r requirements/docs.txt
	touch $@

$(VENV)/.installed-example: $(BIN)/python setup.cfg pyproject.toml requirements/example.txt
	$(BIN)/python -m pip install --quiet -r requirements/example.txt
	touch $@

test: $(VENV)/.installed-test lint typecheck pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python .ci/format_snippets.py

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy --strict flask_capture_link

pytest: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The package's line coverage by the whole suite (a refactor must not lower it).
coverage: $(VENV)/.installed-test
	$(BIN)/python -m coverage run --source=flask_capture_link -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)
	$(BIN)/python -m coverage report --skip-covered

# `make demo PORT=5001 EMULATOR_PORT=0`: other ports (0 picks a free one; macOS's AirPlay holds 5000).
PORT ?= 5000
EMULATOR_PORT ?= 8765

demo: $(VENV)/.installed-example
	$(BIN)/python -m example_app.demo --port $(PORT) --emulator-port $(EMULATOR_PORT)

bench: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks

# The example site under gunicorn and Redis, with faults in turns (issue 22): about 5 minutes.
soak: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks.soak

# Offline: no intersphinx, no remote theme; every warning is an error.
docs: $(VENV)/.installed-docs
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) build dist docs/_build .coverage *.egg-info .pytest_cache .mypy_cache .ruff_cache artifacts
