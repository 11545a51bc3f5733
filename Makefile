# Thin wrapper over CMake: `make` builds into build/, `make demo` and `make test` install what they need.
PY      := .venv/bin/python
JOBS    ?= 2
BUILD   := build
export PYTHONPATH := $(CURDIR)/python
export DEEPWICK_LIBRARY := $(CURDIR)/$(BUILD)/lib/libdeepwick.so

.PHONY: all deps build demo test test-c test-asan test-python test-package bench check-long check-peers fuzz clean

all: build

deps:
	@bash scripts/install-deps

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# The main job: kernels on a built-in data set, a summary on stdout, demo/report.html.
demo: deps build
	$(PY) demo/report.py --out demo/report.html

# Every test: C tests (ctest, incl. fuzz-corpus replay), the same under ASan+UBSan, pytest, and packaging.
test: deps build test-c test-asan test-python test-package

test-c:
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test-asan:
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDW_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j$(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j$(JOBS)

test-python:
	$(PY) -m pytest -q tests/python

# The wheel, repaired by auditwheel (its libraries bundled), installed into a fresh venv and run there.
test-package:
	PY=$(PY) bash scripts/test-package

# Every benchmark, or one: `make bench BENCH=wick`.
BENCH ?= kernels kernels_generic sample jacobian wick signatures
bench: deps build
	bash scripts/peers-env
	@for b in $(BENCH); do if [ -f bench/$$b.py ]; then echo "== bench/$$b.py"; .venv-peers/bin/python bench/$$b.py || exit 1; fi; done

check-long: deps build
	$(PY) -m pytest -q -m long tests/python

check-peers: deps build
	bash scripts/peers-env
	.venv-peers/bin/python -m pytest -q bench/check_peers*.py

fuzz: deps
	bash scripts/fuzz

clean:
	rm -rf $(BUILD) build-asan build-fuzz demo/report.html
