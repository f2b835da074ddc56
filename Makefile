# Every target does its own set-up on a fresh Debian machine (run as root).
SHELL := /bin/bash
VENV := .venv
SCENARIO ?=

.PHONY: help venv test test-fast lint sanity units molecule demo demo-down bench bench-ipvs clean

help:
	@echo "make test       every test: yamllint, ansible-lint, sanity, unit, Molecule scenarios"
	@echo "make test-fast  all but the Molecule scenarios"
	@echo "make demo       bring the 5-host lab up (make demo-down removes it)"
	@echo "make bench      converge, failover, detection, changes-under-load and IPVS figures in the lab -> docs/benchmarks.md (about 50 min; BENCH_ARGS="--compare-role PATH" adds another keepalived role side by side)"

venv:
	@scripts/ensure-venv.sh $(VENV)

test: venv
	@scripts/run-tests.sh all

test-fast: venv
	@scripts/run-tests.sh fast

lint: venv
	@scripts/run-tests.sh yamllint ansible-lint

sanity: venv
	@scripts/run-tests.sh sanity

units: venv
	@scripts/run-tests.sh units

molecule: venv
	@scripts/run-tests.sh molecule $(SCENARIO)

demo: venv
	@scripts/demo.sh up

demo-down:
	@scripts/demo.sh down

bench: venv
	@scripts/host-deps.sh lab
	@$(VENV)/bin/pip install --quiet -r requirements-bench.txt
	@$(VENV)/bin/python benchmarks/cluster_bench.py $(BENCH_ARGS)

bench-ipvs: venv
	@scripts/host-deps.sh lab
	@.venv/bin/python benchmarks/ipvs_table_bench.py

clean:
	rm -rf .build tests/output
