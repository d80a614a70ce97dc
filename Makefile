# Rapport: `make run` (set up + demo data + serve) and `make test` (set up + the whole suite).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast test-at soak lint format setup demo clean bench bench-quick

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/rapport demo --if-empty

run: demo
	$(BIN)/rapport serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check rapport models kiosk admin
	$(BIN)/mypy
	$(BIN)/lint-imports

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	@# Two parts: everything but the browser on two workers, then the browser tests alone (they
	@# time what a person sees and went flaky beside the crash-loop tests). Both always run.
	status=0; \
	$(BIN)/python -m pytest -n 2 --ignore=tests/e2e --durations=15 || status=$$?; \
	$(BIN)/python -m pytest tests/e2e --durations=10 || status=$$?; \
	exit $$status

# Everything but the browser tests, on two workers (the first part of `make test`).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 --ignore=tests/e2e

# The whole suite as if the machine's clock said AT, e.g. `make test-at AT=2027-01-01T00:30:00+08:00`
# (the README lists the dates to try); SUITE=test-fast leaves out the browser tests. Debian's
# datefudge shifts the system clock of every process (pytest, the server, Chromium) by one offset;
# the browser suite's pinned clock starts at AT too.
SUITE ?= test
test-at: $(STAMP)
	@test -n "$(AT)" || { echo "make test-at: say when, e.g. make test-at AT=2027-01-01T00:30:00+08:00" >&2; exit 2; }
	@command -v datefudge >/dev/null || { echo "make test-at needs Debian's datefudge: apt-get install datefudge" >&2; exit 2; }
	@date -d '$(AT)' >/dev/null 2>&1 || { echo "make test-at: AT=$(AT) is not a time; write it as 2027-01-01T00:30:00+08:00" >&2; exit 2; }
	RAPPORT_E2E_AT='$(AT)' datefudge '$(AT)' $(MAKE) --no-print-directory $(SUITE)

# The reliability and security battery at full size (1,000-rating crash loops, 10,000 hostile inputs
# per entry point); `make test` runs a short form of the same tests.
soak: $(STAMP)
	RAPPORT_SOAK=1 $(BIN)/python -m pytest tests/battery

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format rapport models kiosk admin

clean:
	rm -rf $(VENV) test-artifacts

# Benchmarks (benchmarks/README.md): not part of `make test`. Each prints its figures next to the
# targets of QUALITY.md and fails when one is missed; generated data is cached in /tmp/rapport-bench.
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run full

bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks.run quick
