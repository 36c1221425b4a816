# MCP Host developer commands. Everything runs from a project-local virtualenv (.venv) that the targets
# create and fill on first use; the install step reruns only when pyproject.toml changes.
#
#   make run                    start MCP Host at http://127.0.0.1:8700 (RUN_ARGS="--port 9000 --home /tmp/x")
#   make test                   the test suite: all on SQLite, the database tests again on PostgreSQL (PYTEST_ARGS="-x")
#   make test-fast              the quick subset on SQLite (no runtimes, browser or external tools) for the inner loop
#   make e2e-kubernetes         the Kubernetes runtime on a real single-node cluster built from Debian's source package
#   make lint                   ruff (lint + format check), mypy and the import-cycle check
#   make fmt                    apply ruff's fixes and formatting
#   make bench                  run the benchmarks in bench/ (figures in docs/benchmarks.md)
#   make screenshots            photograph the web console's main pages into docs/screenshots/ (needs chromium)
#   make clean                  remove the virtualenv, caches and build output

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LINT_PATHS := src tests scripts bench

# pytest-xdist spreads the tests over the CPUs. Many tests wait on subprocesses and databases, so it pays off even
# on 2 cores (measured: 59s with -n auto against 90s serially). PYTEST_WORKERS=0 runs serially (for pdb);
# PYTEST_ARGS adds options, e.g. PYTEST_ARGS="-x -k tokens".
PYTEST_WORKERS ?= auto
PYTEST_ARGS ?=
RUN_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help system-run system-test install run test test-fast e2e-kubernetes lint fmt bench screenshots clean

help:
	@echo "make run    start MCP Host at http://127.0.0.1:8700 (RUN_ARGS='--port 9000' to change)"
	@echo "make test   run the tests on SQLite and PostgreSQL (PYTEST_ARGS='-x -k tokens' adds pytest options, PYTEST_WORKERS=0 runs serially)"
	@echo "make test-fast  the quick subset on SQLite (no runtimes, browser or external tools)"
	@echo "make e2e-kubernetes  the Kubernetes runtime's tests and end-to-end story on a real single-node cluster"
	@echo "make lint   ruff check, ruff format --check, mypy and scripts/check_import_cycles.py"
	@echo "make fmt    apply ruff fixes and formatting"
	@echo "make bench  run the benchmarks (see docs/benchmarks.md)"
	@echo "make screenshots  save screenshots of the console into docs/screenshots/ (needs Debian's chromium)"
	@echo "make clean  remove $(VENV), caches and build output"

# The virtualenv. Debian and Ubuntu ship Python's venv/ensurepip modules separately (python3-venv); without them
# `python3 -m venv` leaves a half-made directory behind, which is removed so the next run tries again.
$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { \
		echo "error: $(PYTHON) not found; install Python 3.11 or newer (Debian/Ubuntu: apt-get install python3 python3-venv)" >&2; \
		exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
		echo "error: MCP Host needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) --version 2>&1)" >&2; \
		exit 1; }
	@echo "creating $(VENV) with $$($(PYTHON) --version 2>&1)"
	@$(PYTHON) -m venv $(VENV) || { \
		rm -rf $(VENV); \
		echo "" >&2; \
		echo "error: '$(PYTHON) -m venv $(VENV)' failed. On Debian or Ubuntu the venv module is a separate package:" >&2; \
		echo "       sudo apt-get install python3-venv" >&2; \
		echo "       then run make again." >&2; \
		exit 1; }

# The package (editable) with its dev extra. uv inside the venv is much faster than pip; pip is the fallback. uv
# trusts the system's certificate store (UV_NATIVE_TLS), as pip does, so a TLS-inspecting proxy's CA works for both.
$(STAMP): pyproject.toml | $(BIN)/python
	@echo "installing mcphost[dev] into $(VENV)"
	@if [ -x $(BIN)/uv ] || $(BIN)/python -m pip install --quiet --disable-pip-version-check uv; then \
		UV_NATIVE_TLS=1 $(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]' || { \
			echo "uv failed; falling back to pip" >&2; \
			$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'; }; \
	else \
		echo "uv is unavailable; installing with pip" >&2; \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'; \
	fi
	@touch $@

install: $(STAMP)

# The Debian packages each target needs (scripts/setup_system.sh: installs them as root or with sudo, otherwise
# prints the apt-get line to run). They come before the virtualenv, which needs python3-venv.
system-run:
	@bash scripts/setup_system.sh run

system-test:
	@bash scripts/setup_system.sh test

run: system-run
	@$(MAKE) --no-print-directory $(STAMP)
	$(BIN)/mcphost up $(RUN_ARGS)

# The gateway tests run the MCP conformance suite and the Inspector (npm packages on Node 22, under .ci/node);
# the script installs them once (it needs npm) and returns at once when they are there. scripts/run_tests.sh runs
# the suite on SQLite, then the database tests on PostgreSQL, and prints how long each took.
test: system-test
	@$(MAKE) --no-print-directory $(STAMP)
	@bash scripts/install_node_tools.sh
	@PYTEST_WORKERS=$(PYTEST_WORKERS) PYTEST_ARGS="$(PYTEST_ARGS)" bash scripts/run_tests.sh full

test-fast: $(STAMP)
	@PYTEST_WORKERS=$(PYTEST_WORKERS) PYTEST_ARGS="$(PYTEST_ARGS)" bash scripts/run_tests.sh fast

# All four checks run even when one fails, so one pass shows every problem. The last keeps imports pointing down
# (no circles between modules under src/; see the script's docstring).
lint: $(STAMP)
	@status=0; \
	echo "ruff check $(LINT_PATHS)"; $(BIN)/ruff check $(LINT_PATHS) || status=1; \
	echo "ruff format --check $(LINT_PATHS)"; $(BIN)/ruff format --check $(LINT_PATHS) || status=1; \
	echo "mypy"; $(BIN)/mypy || status=1; \
	echo "import cycles"; $(BIN)/python scripts/check_import_cycles.py || status=1; \
	exit $$status

# A real cluster: scripts/build_kubernetes.sh builds it once (minutes), the tests start etcd, the control plane and a
# kubelet on Docker (about 15 s), then a catalog server runs as a pod behind the gateway, on PostgreSQL.
e2e-kubernetes: $(STAMP) system-test
	bash scripts/build_kubernetes.sh
	MCPHOST_TEST_POSTGRES_URL="$${MCPHOST_TEST_POSTGRES_URL:-postgresql+asyncpg://postgres@localhost/postgres}" \
		$(BIN)/pytest -n 0 -p no:randomly tests/runtimes/kubernetes $(PYTEST_ARGS)

fmt: $(STAMP)
	$(BIN)/ruff check --fix $(LINT_PATHS)
	$(BIN)/ruff format $(LINT_PATHS)

bench: $(STAMP)
	$(BIN)/python bench/mcp_stdio_roundtrip.py
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/hosted_memory.py
	$(BIN)/python bench/cli_startup.py
	$(BIN)/python bench/gateway/compare.py
	$(BIN)/python bench/redeploy_under_load.py
	$(BIN)/python bench/container_vs_process.py

# The console in Debian's Chromium (apt-get install chromium), desktop and phone widths, light and dark.
screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py --out docs/screenshots

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist src/*.egg-info
	find src tests scripts -name __pycache__ -type d -prune -exec rm -rf {} +
