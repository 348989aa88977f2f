# Two entry points (see README): `make demo` runs the web app on a demo trial, `make test` runs
# the tests. Both create the virtual environment on first use.
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-fast install oracle lint

$(BIN)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/.installed

# The reference ISNCSCI algorithm (npm isncsci), used only as a black-box test oracle.
oracle:
	@if command -v npm >/dev/null 2>&1; then \
		[ -d tools/oracle/node_modules/isncsci ] || npm ci --prefix tools/oracle --silent --no-audit --no-fund; \
	else echo "npm not found: the differential tests against the reference algorithm will be skipped"; fi

demo: install
	$(BIN)/cordtrial serve --demo

test: install oracle
	$(BIN)/pytest -q

test-fast: install
	$(BIN)/pytest -q -m "not slow"

lint: install
	$(BIN)/ruff check src tests benchmarks tools
