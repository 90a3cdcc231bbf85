# Threadline: `make run` to try it, `make test` to prove it. Needs only Python 3.11+.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
export THREADLINE_DATA_DIR ?= ./data

.PHONY: run test check lint bench bench-deps system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall whenever pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,lint]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/threadline migrate
	$(BIN)/threadline site add demo --name "Threadline demo" \
		--origin http://127.0.0.1:$(PORT) --origin http://localhost:$(PORT) --exist-ok
# An earlier run may have registered the demo on another port: admit this one too.
	$(BIN)/threadline site update demo \
		--add-origin http://127.0.0.1:$(PORT) --add-origin http://localhost:$(PORT)
	THREADLINE_LOG_FORMAT=text $(BIN)/threadline serve --host $(HOST) --port $(PORT)

# Chromium, redis-server and wrk (the benchmarks' short forms in `make test`) come from
# Debian; PostgreSQL binaries are on the machine.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	command -v wrk >/dev/null 2>&1 || missing="$$missing wrk"; \
	if [ -n "$$missing" ]; then \
		echo "installing from Debian:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# The habits CI enforces: lint, formatting and strict types (server and tests) before any test.
# Tests run in one process per core (pytest-xdist; TEST_WORKERS=0 for one process): most of a
# test's time is spent waiting on its servers, so one core alone sat half idle.
TEST_WORKERS ?= auto
test: check system-deps
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

check: $(VENV)/.installed-test
	$(BIN)/ruff check server tests bench
	$(BIN)/ruff format --check server tests bench
	$(BIN)/mypy

lint: check

# The peers (python-socketio, Channels, broadcaster, Isso) live in their own virtualenv so
# that their pins never meet ours; wrk drives the HTTP scenarios.
PEERS := bench/.venv-peers
$(PEERS)/.installed: bench/peers-requirements.txt
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/pip install --quiet --upgrade pip
	$(PEERS)/bin/pip install --quiet -r bench/peers-requirements.txt
	touch $@

bench-deps: system-deps

# BASELINE=<git rev> (or BENCH_BASELINE): that revision's Threadline too, measured in the same
# run next to this tree's (latency, throughput, http, widget), with a within-noise verdict per figure.
bench: $(VENV)/.installed-test bench-deps $(PEERS)/.installed
	$(if $(BASELINE),BENCH_BASELINE=$(BASELINE) )$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(PEERS) data .pytest_cache .mypy_cache .ruff_cache
