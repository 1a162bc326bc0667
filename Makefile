# Convenience targets; the README's two commands are scripts/run.sh and scripts/test.sh,
# which need nothing but Python 3.11 (not even make).
.PHONY: setup run test test-slow lint format bench loadtest clean

setup:
	bash scripts/setup.sh

run:
	bash scripts/run.sh

test:
	bash scripts/test.sh

test-slow: setup
	.venv/bin/python -m pytest -m slow

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/vulture

format: setup
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

bench: setup
	.venv/bin/python benchmarks/bench_training.py

loadtest: setup
	.venv/bin/python -m loadtests.gate

clean:
	rm -rf artifacts .pytest_cache .ruff_cache
