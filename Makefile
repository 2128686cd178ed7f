# steps-tuner: every target installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXPERIMENT ?= experiments/noisy_wide.toml
WORKERS ?= 2
RESULTS ?= results
# Test processes: most tests wait on the searches they start, so two share two cores well.
TEST_PROCESSES ?= 2

.PHONY: venv tune tune-all tune-distributed test test-fast lint report bench study gpu-check clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

tune: $(STAMP)
	$(BIN)/python -m tuning run $(EXPERIMENT) $(ARGS)

tune-all: $(STAMP)
	@for spec in experiments/*.toml; do \
		$(BIN)/python -m tuning run "$$spec" --if-unfinished $(ARGS) || exit $$?; \
	done
	$(BIN)/python -m tuning index $(RESULTS)

tune-distributed: $(STAMP)
	$(BIN)/python -m tuning distributed $(EXPERIMENT) --workers $(WORKERS) $(ARGS)

# A module's tests run in one process (`--dist loadscope`), so that a search a module's tests
# share (a module-scoped fixture) runs once, not once in each process.
test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_PROCESSES) --dist loadscope $(ARGS)

# The pure logic only: no test that trains a model or runs a search (marked `slow`).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_PROCESSES) -m "not slow" $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check tuning tests bench study docs

report: $(STAMP)
	@test -n "$(RUN)" || { echo "usage: make report RUN=results/<experiment>" >&2; exit 2; }
	$(BIN)/python -m tuning report $(RUN)

bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

study: $(STAMP)
	$(BIN)/python -m study $(ARGS)

gpu-check: $(STAMP)
	$(BIN)/python -m tuning.execution.gpu_check $(ARGS)

clean:
	rm -rf $(RESULTS)/*/ $(RESULTS)/index.html bench/results .pytest_cache .ruff_cache
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
