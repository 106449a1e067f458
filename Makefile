# nsp: `make demo` runs the main job on a fresh machine; `make test` passes the tests.
# Every target installs what it needs first (the venv, and Debian packages as root).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
NSP    := $(BIN)/nsp
PYTEST_ARGS ?=

.PHONY: help setup system db demo test test-unit test-integration test-browser bench audit pip-audit serve lock lock-upgrade clean

help:
	@echo "make demo    set up, load Latvia, stream a scenario through the workers, serve the dashboard"
	@echo "make test    run the test suite (real PostGIS, real Chromium)"
	@echo "make bench   run the benchmarks (tests/benchmarks) side by side with their peers"
	@echo "make audit   known vulnerabilities of requirements.lock (PyPI's vulnerability data)"
	@echo "make setup   only install: .venv and the Debian packages"

# The venv is rebuilt when the project's dependencies change.
$(BIN)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[test]'
	touch $@

setup: $(BIN)/.installed system

system:
	@sh .ci/system-packages postgis chromium

db: $(BIN)/.installed
	@sh .ci/system-packages postgis
	@$(NSP) db up
	@$(NSP) db migrate

demo: db
	$(NSP) sections load
	$(NSP) demo

serve: db
	$(NSP) serve

test: $(BIN)/.installed
	@sh .ci/system-packages postgis chromium compose
	$(NSP) db up >/dev/null
	$(BIN)/pytest $(PYTEST_ARGS)

test-unit: $(BIN)/.installed
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

test-integration: $(BIN)/.installed
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

test-browser: $(BIN)/.installed
	@sh .ci/system-packages postgis chromium
	$(BIN)/pytest tests/browser $(PYTEST_ARGS)

bench: $(BIN)/.installed
	@sh .ci/system-packages postgis chromium gdal socat
	$(NSP) db up >/dev/null
	$(BIN)/pytest tests/benchmarks -p no:cacheprovider -s $(PYTEST_ARGS)

# Known vulnerabilities in the pinned set, from PyPI's vulnerability data (.ci/audit_lock.py);
# exit 3 when some pins could not be checked. `make pip-audit` where PyPI's full API or osv.dev answers.
audit:
	$(PYTHON) .ci/audit_lock.py requirements.lock

pip-audit: $(BIN)/.installed
	$(BIN)/pip-audit --strict --no-deps --disable-pip --progress-spinner off -r requirements.lock

# Refresh the pinned set after changing dependencies in pyproject.toml.
lock: $(BIN)/.installed
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^nsp' > requirements.lock

# Re-resolve every dependency to its newest release for this Python, in a throwaway venv,
# and pin the result. `make audit` can judge only pins that are the newest release.
lock-upgrade:
	@d=$$(mktemp -d) && $(PYTHON) -m venv $$d \
	  && $$d/bin/python -m pip install -q --upgrade pip \
	  && $$d/bin/python -m pip install -q -e '.[test]' \
	  && $$d/bin/python -m pip freeze --exclude-editable | grep -v '^nsp' > requirements.lock; \
	  rc=$$?; rm -rf $$d; exit $$rc

clean:
	-$(NSP) db down
	rm -rf $(VENV) .pytest_cache .hypothesis
