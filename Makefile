# Thin wrapper over CMake: `make` builds into build/, `make demo`, `make check` and `make test` install what they need.
#
# Test tiers (times for an idle 2-core machine):
#   make check       the edit loop, < 3 min once built: the C tests (ctest), every Python module except the slow
#                    reference modules ($(SLOW_PY): mpmath references, the finite-width reference, out-of-core
#                    kill/resume runs), and mypy.
#   make test        the full gate, < 10 min from a clean clone: every C test (incl. fuzz-corpus replay), the same
#                    under ASan+UBSan (-O1), every Python test (pytest-xdist), mypy, and the wheel (auditwheel-repaired,
#                    installed into a fresh venv), two of these at a time.
#   make docs        the API reference (Sphinx, warnings as errors) into build/docs/html, and its examples run as
#                    doctests; part of check and test.
#   make check-long  the heavy validations (Monte Carlo, full grids) marked @pytest.mark.long.
PY      := .venv/bin/python
JOBS    ?= 2
BUILD   := build
ASAN    := build-asan
SLOW_PY := test_accuracy.py test_closed_forms.py test_generic.py test_kinked.py test_fwref.py test_finite_width_ref.py \
           test_near_dup_kinked.py \
           test_kernel_ooc.py
export PYTHONPATH := $(CURDIR)/python
export DEEPWICK_LIBRARY := $(CURDIR)/$(BUILD)/lib/libdeepwick.so

.PHONY: all deps build build-asan demo check test test-c test-asan test-python test-package mypy docs \
        bench check-long check-peers fuzz clean

all: build

# apt packages, and requirements.txt into the venv that holds $(PY)
deps:
	@VENV=$(abspath $(dir $(PY))..) bash scripts/install-deps

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@MAKEFLAGS= cmake --build $(BUILD) -j$(JOBS)

# The C tests only (no shared library, no CLI), -O1: ASan+UBSan at -O0 ran 2.5x slower and finds nothing more here.
build-asan:
	@cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-O1 -g" -DDW_SANITIZE=ON >/dev/null
	@MAKEFLAGS= cmake --build $(ASAN) -j$(JOBS) --target dw_c_tests

# The main job: kernels on a built-in data set, a summary on stdout, demo/report.html.
demo: deps build
	$(PY) demo/report.py --out demo/report.html

# The edit loop: see the tiers above.
check: deps build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)
	$(PY) -m pytest -q -n $(JOBS) tests/python $(addprefix --ignore=tests/python/,$(SLOW_PY))
	$(PY) -m mypy
	@$(MAKE) --no-print-directory docs

# The full gate: two of its targets at a time, longest first (each of them runs $(JOBS) ways; cmake --build runs
# outside make's job server), each target's output printed whole when it ends.
test: deps
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-python test-asan test-c test-package mypy docs

test-c: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test-asan: build-asan
	cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j$(JOBS)

test-python: build
	$(PY) -m pytest -q -n $(JOBS) tests/python

mypy:
	$(PY) -m mypy

# The API reference: the C headers and the Python docstrings, warnings as errors; the docstrings' examples as doctests.
docs: build
	$(PY) -m sphinx -q -W -b html docs/api $(BUILD)/docs/html
	$(PY) -m sphinx -q -W -b doctest docs/api $(BUILD)/docs/doctest

# The wheel, repaired by auditwheel (its libraries bundled), installed into a fresh venv and run there.
test-package:
	PY=$(PY) bash scripts/test-package

# Every benchmark, or one: `make bench BENCH=wick`.
BENCH ?= kernels kernels_generic sample jacobian wick signatures signatures_grad finite stax
bench: deps build
	bash scripts/peers-env
	@for b in $(BENCH); do if [ -f bench/$$b.py ]; then echo "== bench/$$b.py"; .venv-peers/bin/python bench/$$b.py || exit 1; fi; done

check-long: deps build
	$(PY) -m pytest -q -n $(JOBS) -m long tests/python

check-peers: deps build
	bash scripts/peers-env
	.venv-peers/bin/python -m pytest -q bench/check_peers*.py
	.venv-peers/bin/python bench/peer_suites/run.py

fuzz: deps
	bash scripts/fuzz

clean:
	rm -rf $(BUILD) $(ASAN) build-fuzz build-pip demo/report.html
