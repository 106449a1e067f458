# nsp: `make demo` runs the main job on a fresh machine; `make test` passes the tests.
# Every target installs what it needs first (the venv, and Debian packages as root).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
NSP    := $(BIN)/nsp
PYTEST_ARGS ?=

.PHONY: help setup system db demo docs test test-unit test-integration test-browser fuzz bench audit pip-audit serve lock lock-upgrade clean

help:
	@echo "make demo    set up, load Latvia, stream a scenario through the workers, serve the dashboard"
	@echo "make test    run the test suite (real PostGIS, real Chromium)"
	@echo "make docs    build the documentation site into site/ (offline; open site/index.html)"
	@echo "make fuzz    fuzz the parsers and the pipeline: thousands of mutated samples per format (no database)"
	@echo "make bench   run the benchmarks (tests/benchmarks) side by side with their peers"
	@echo "make audit   known vulnerabilities of requirements.lock (PyPI's vulnerability data)"
	@echo "make setup   only install: .venv and the Debian packages"

# The venv is rebuilt when the project's dependencies change. pip installs uv (its pin in
# requirements.lock), and uv the pinned set: it fetches in parallel and links from its cache.
# --compile-bytecode writes every module's .pyc at install: where PYTHONDONTWRITEBYTECODE is set
# no process writes them, and each would compile its imports from source again (importing the
# dashboard: 6 s of CPU instead of 2).
$(BIN)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "$$(grep -i '^uv==' requirements.lock)"
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -c requirements.lock -e '.[test]'
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

# The documentation site (mkdocs.yml, docs/): offline, and --strict, so a broken link,
# a missing page or a command without its reference fails the build.
MKDOCS := NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs

docs: $(BIN)/.installed
	$(MKDOCS) build --strict

# pytest processes (pytest-xdist), a test file to each at a time, the longest first (by
# tests/conftest.py's estimate; --no-loadscope-reorder keeps xdist from putting the files with
# most tests first); each process has its own Chromium and its own databases. Keep a file to
# one concern, so that no single file holds one process busy while the others are done. The docs
# checks (tests/unit/test_docs.py) read the site built here instead of building it again.
# Two runs at once: tests/browser in two processes, and every other layer in four. The browser
# tests keep processes of their own: run in a process that had run several minutes of
# integration tests before, the first browser tests found pages that never drew (the cause is
# not found yet; docs/development/tests.md). Neither run fills the two cores alone (many
# integration tests wait on other processes: a worker's interval, a server's restart, an
# outage; the browser tests wait on the page's refreshes), so together they take little more
# than the longer one. The browser run has its own pytest cache (its test times; no two runs
# write one file) and its output goes to a log printed when both are done. Both always run;
# the make fails if either failed. PYTEST_ARGS runs those arguments once instead.
PYTEST := NSP_TEST_DOCS_SITE=$(CURDIR)/site $(BIN)/pytest --dist loadfile --no-loadscope-reorder
# The project's own modules compiled once (.pyc, as the venv's at install), for the same reason.
BYTECODE := $(BIN)/python -m compileall -q -j 0 nsp dashboard geo ingest tests >/dev/null

# As root, the local cluster the tests use preloads PostGIS (.ci/postgres-preload: set once,
# with one restart): each of the suite's some thousands of connections skips loading it.
test: $(BIN)/.installed
	@sh .ci/system-packages postgis chromium gdal compose
	@sh .ci/postgres-preload
	@$(BYTECODE)
	$(NSP) db up >/dev/null
ifeq ($(strip $(PYTEST_ARGS)),)
	@mkdir -p .pytest_cache; log=.pytest_cache/browser-run.log; status=0; \
	echo "tests/browser: running beside the other layers (its output follows theirs; $$log)"; \
	$(PYTEST) -n 2 -o cache_dir=.pytest_cache/browser tests/browser >$$log 2>&1 & browser=$$!; \
	$(BIN)/ruff check . || status=$$?; \
	$(MKDOCS) build --strict --quiet --site-dir site || status=$$?; \
	$(PYTEST) -n 4 tests/unit tests/integration || status=$$?; \
	wait $$browser || status=$$?; \
	echo; echo "tests/browser ($$log):"; cat $$log; \
	exit $$status
else
	$(BIN)/ruff check .
	$(MKDOCS) build --strict --quiet --site-dir site
	$(PYTEST) -n 2 $(PYTEST_ARGS)
endif

test-unit: $(BIN)/.installed
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

test-integration: $(BIN)/.installed
	@sh .ci/system-packages postgis gdal
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

test-browser: $(BIN)/.installed
	@sh .ci/system-packages postgis chromium
	$(BIN)/pytest tests/browser $(PYTEST_ARGS)

# The property tests of tests/unit with many more examples, each run new ones (make test runs
# a few dozen, always the same). NSP_FUZZ_EXAMPLES=20000 make fuzz for a longer hunt.
FUZZ_EXAMPLES ?= $(or $(NSP_FUZZ_EXAMPLES),3000)
fuzz: $(BIN)/.installed
	NSP_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) NSP_PROPERTY_EXAMPLES=$(FUZZ_EXAMPLES) \
	  $(BIN)/pytest tests/unit/test_fuzz_pipeline.py tests/unit/test_parsers_hypothesis.py -q $(PYTEST_ARGS)

bench: $(BIN)/.installed
	@sh .ci/system-packages postgis chromium gdal socat
	$(NSP) db up >/dev/null
	NSP_TEST_DB=local $(BIN)/pytest tests/benchmarks -p no:cacheprovider -s $(PYTEST_ARGS)

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
	-$(BIN)/python -m tests.support.cluster down
	rm -rf $(VENV) .pytest_cache .hypothesis site
