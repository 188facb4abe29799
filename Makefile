# The README's two commands: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest lit quick clean lock system-packages

# Debian packages the tests need besides Python's (CI is a clean Debian machine, run as root):
# mlir-22-tools is upstream mlir-opt / mlir-translate 22 (docs/mlir.md). One list, one apt step.
SYSTEM_PACKAGES := mlir-22-tools

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

test: system-packages lint typecheck pytest lit

# Installs what is missing of SYSTEM_PACKAGES; without apt-get it says so, and the tests that
# need them skip saying why.
system-packages:
	@if ! command -v apt-get >/dev/null; then \
		echo "apt-get not found: not installing $(SYSTEM_PACKAGES); tests needing them skip"; \
	else \
		missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
		if [ -n "$$missing" ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		fi; \
	fi

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/basedpyright

# The fuzzer's oracle tests (tests/test_fuzz_oracle.py) run with the rest: a fuzz run pins
# hypothesis's state, so a seed draws the same programs whatever ran before in the process.
pytest: $(STAMP)
	$(VENV)/bin/pytest -n 2

lit: $(STAMP)
	PATH=$(abspath $(VENV))/bin:$$PATH $(VENV)/bin/lit -sv filecheck

quick: $(STAMP)
	$(VENV)/bin/pytest -n 2 -m "not slow"

clean:
	rm -rf $(VENV) build *.egg-info
