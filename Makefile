# The README's two commands: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest lit quick clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

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
