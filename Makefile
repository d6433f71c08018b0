# The README's commands. `make demo` runs a real drill on the local sandbox; `make test` lints
# (ruff), type-checks (mypy) and runs the tests. Both install what they need first (.ci/setup
# is idempotent).
PYTHON ?= python3

.PHONY: setup demo test bench reliability
setup:
	bash .ci/setup

demo: setup
	revoker drill --scenario shai-hulud

test: setup
	$(PYTHON) -m ruff check .
	$(PYTHON) -m mypy
	$(PYTHON) -m pytest -q

bench: setup
	$(PYTHON) bench/run.py

# Fault and crash trials (R1, R2): summary tables, about 5 minutes. CI runs the subset in
# tests/reliability.
reliability: setup
	$(PYTHON) -m tests.reliability.harness
