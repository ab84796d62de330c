# fault-area: `make run` and `make test` set up everything on Debian 12/13 (as root).
PY := .venv/bin/python
SUITE ?= default

.PHONY: all setup kmod engine build run test test-host bench stress clean

all: build

build: kmod engine

setup:
	@scripts/setup.sh

kmod: setup
	@$(MAKE) --no-print-directory -C kmod

# The C engine as a cffi extension, rebuilt when its sources change.
ENGINE_SO := engine/.built
engine: setup $(ENGINE_SO)
$(ENGINE_SO): engine/build.py engine/c/*.c engine/c/*.h include/fa_util.h kmod/fault_area_uapi.h
	@$(PY) engine/build.py && touch $@

# A scenario suite (scenarios/$(SUITE).suite) in one guest boot, then its reports.
run: build
	@$(PY) -m scenarios run --suite $(SUITE)

test: build
	@scripts/pytest-strict

# Figures measured in one guest boot, reported as ratios (see bench/); the tracing overhead and
# pages placed many at a time in a second boot whose guest time counts instructions
# (bench/tracing.py says why);
# BENCH_FLAGS=--quick runs every row on small sizes, in seconds.
BENCH_FLAGS ?=
bench: build
	@d=results/$$(date -u +%Y%m%dT%H%M%SZ)-bench; $(PY) -m lab --results $$d --timeout 1200 \
		--step kmod='python -m bench.kmod $(BENCH_FLAGS)' --step backends='python -m bench.backends $(BENCH_FLAGS)' \
		--step work='python -m bench.work $(BENCH_FLAGS)' && \
	$(PY) -m lab --icount --results $$d/icount --timeout 1500 \
		--step tracing='python -m bench.tracing $(BENCH_FLAGS)' --step batch='python -m bench.batch $(BENCH_FLAGS)'

# The module's reliability battery in one boot: 100,000 fuzzed ioctls, the
# lifetime cases, and DURATION seconds of stress (kmod/selftests/reliability.sh).
DURATION ?= 300
stress: build
	@$(PY) -m lab --results results/$$(date -u +%Y%m%dT%H%M%SZ)-stress --timeout $$(($(DURATION) + 900)) \
		--step reliability='kmod/selftests/reliability.sh $(DURATION)'

# The host tests import the engine (its cffi extension), so it is built first.
test-host: engine
	@scripts/pytest-strict tests/host

clean:
	@$(MAKE) --no-print-directory -C kmod clean
	rm -rf build engine/_engine*.so $(ENGINE_SO)
