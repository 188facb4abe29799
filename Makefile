# The README's two commands: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest lit quick clean lock system-packages cross bench

# Debian packages the tests need besides Python's (CI is a clean Debian machine, run as root):
# qemu-user, the aarch64 and riscv64 cross compilers (their libgomp included), wasm-ld and
# Node.js run the cross targets (tests/targets/test_cross_targets.py); mlir-22-tools is upstream
# mlir-opt / mlir-translate 22 (docs/mlir.md). The cross compilers' C libraries (headers, crt1.o,
# libc.a) are only recommended by them, and apt-get runs --no-install-recommends: named here.
SYSTEM_PACKAGES = qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-riscv64-linux-gnu \
	libc6-dev-riscv64-cross lld-22 nodejs mlir-22-tools

# Exact versions from the committed lock (every package, pip and setuptools included), then
# Terrace itself without resolving anything: a fresh machine gets what CI tested.
$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q "$$(grep '^pip==' requirements.lock)"
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	touch $(STAMP)

# Refresh requirements.lock to the newest releases pyproject.toml allows (then run make test).
lock:
	tools/lock.sh

demo: $(STAMP)
	$(VENV)/bin/terrace demo

# Regenerates benchmarks/RESULTS.md from this commit (refused on a tree with uncommitted
# changes; BENCH_ARGS="--allow-dirty" or any option of python -m terrace.benchmarks --help).
# Both the host's target and the AVX2 one are timed, in the same rounds as onnxruntime.
bench: $(STAMP)
	$(PY) -m terrace.benchmarks --target host,x86_64-avx2 --plot benchmarks/ratios.png $(BENCH_ARGS)

test: system-packages lint typecheck pytest lit

# Installs the SYSTEM_PACKAGES that are missing (as root: sudo otherwise). Where there is no
# apt-get it only says what is missing; the tests that need those programs then skip, loudly.
system-packages:
	@missing=$$(for package in $(SYSTEM_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$package 2>/dev/null | grep -q 'install ok installed' \
		|| echo $$package; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null; then \
		echo "system-packages: no apt-get here; NOT INSTALLED:" $$missing; exit 0; fi; \
	sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	echo "system-packages: installing" $$missing; \
	$$sudo apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y --no-install-recommends $$missing

# All nine light models and the transformer block on every cross target, from artifacts
# (`make test` runs three of them); prints how long it took.
cross: $(STAMP) system-packages
	@started=$$(date +%s); \
	TERRACE_CROSS_FULL=1 $(VENV)/bin/pytest -n 2 tests/targets/test_cross_targets.py; status=$$?; \
	echo "make cross: $$(( $$(date +%s) - started )) s"; exit $$status

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/basedpyright

# The fuzzer's oracle tests (tests/fuzz/test_fuzz_oracle.py) run with the rest: a fuzz run pins
# hypothesis's state, so a seed draws the same programs whatever ran before in the process.
# The 25 slowest tests are listed at the end: the suite's budget on CI is 30 minutes.
pytest: $(STAMP)
	$(VENV)/bin/pytest -n 2 --durations=25

lit: $(STAMP)
	PATH=$(abspath $(VENV))/bin:$$PATH $(VENV)/bin/lit -sv filecheck

quick: $(STAMP)
	$(VENV)/bin/pytest -n 2 -m "not slow"

clean:
	rm -rf $(VENV) build *.egg-info
