# Rapport: `make run` (set up + demo data + serve) and `make test` (set up + the whole suite).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test soak lint format setup demo clean bench bench-quick

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

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	@# Two parts: everything but the browser on two workers, then the browser tests alone (they
	@# time what a person sees and went flaky beside the crash-loop tests). Both always run.
	status=0; \
	$(BIN)/python -m pytest -n 2 --ignore=tests/e2e --durations=15 || status=$$?; \
	$(BIN)/python -m pytest tests/e2e --durations=10 || status=$$?; \
	exit $$status

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
