# The README's two commands: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest lit quick clean lock

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

test: lint typecheck pytest lit

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/basedpyright

# The fuzzer's oracle tests run each in a process of its own: after some other fuzz runs in the
# same process, the deliberately wrong nn rewrites went uncaught with their fixed seed (an open
# order dependence, see the issue notes).
ORACLE_TESTS = tests/test_fuzz_oracle.py
pytest: $(STAMP)
	$(VENV)/bin/pytest -n 2 --ignore=$(ORACLE_TESTS)
	for test in $$($(VENV)/bin/pytest --collect-only -o addopts= -q $(ORACLE_TESTS) | grep '::'); do \
		$(VENV)/bin/pytest -q "$$test" || exit 1; \
	done

lit: $(STAMP)
	PATH=$(abspath $(VENV))/bin:$$PATH $(VENV)/bin/lit -sv filecheck

quick: $(STAMP)
	$(VENV)/bin/pytest -n 2 -m "not slow"

clean:
	rm -rf $(VENV) build *.egg-info
