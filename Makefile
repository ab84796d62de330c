# fault-area: `make run` and `make test` set up everything on Debian 12/13 (as root).
PY := .venv/bin/python
SUITE ?= smoke

.PHONY: all setup kmod run test test-host bench clean

all: kmod

setup:
	@scripts/setup.sh

kmod: setup
	@$(MAKE) --no-print-directory -C kmod

# The default suite; until scenarios exist it is the guest smoke run.
run: kmod
	@$(PY) -m lab --step smoke='python -m pytest -p no:cacheprovider -v tests/guest/test_smoke.py'

test: kmod
	@scripts/pytest-strict

# Figures measured in one guest boot, reported as ratios (see bench/).
bench: kmod
	@$(PY) -m lab --results results/$$(date -u +%Y%m%dT%H%M%SZ)-bench --timeout 1200 \
		--step kmod='python -m bench.kmod'

test-host: setup
	@scripts/pytest-strict tests/host

clean:
	@$(MAKE) --no-print-directory -C kmod clean
