# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8080
export INTAKE_DATA_DIR ?= $(CURDIR)/instance

.PHONY: run test check test-postgres install dev-install system-packages translations public-catalogue wordlists clean bench lock audit

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Dependencies come only from the hashed locks in requirements/ (see `lock`);
# the project itself is then installed without resolving anything.
install: $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/runtime.txt -r requirements/build.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(MAKE) --no-print-directory translations

dev-install: $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.txt -r requirements/build.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(MAKE) --no-print-directory translations

# Re-resolve the locks from pyproject.toml and requirements/build.in, keeping
# every version already locked unless UPGRADE says otherwise:
#   make lock                                  (after changing a dependency)
#   make lock UPGRADE=--upgrade                (everything to the newest)
#   make lock UPGRADE='--upgrade-package flask'
# The dev lock is constrained by the runtime lock: tests run what ships.
UV_VERSION = 0.13.9
LOCK = build/lock/bin/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	--custom-compile-command 'make lock' $(UPGRADE)
lock:
	$(PYTHON) -m venv build/lock
	build/lock/bin/pip install --quiet uv==$(UV_VERSION)
	$(LOCK) pyproject.toml -o requirements/runtime.txt
	$(LOCK) requirements/build.in -c requirements/runtime.txt -o requirements/build.txt
	$(LOCK) pyproject.toml --extra dev -c requirements/runtime.txt -o requirements/dev.txt

# Known vulnerabilities in every locked package (PyPI's advisory database):
# fails on any. A package PyPI cannot answer for is listed as skipped, and
# the count is printed, so an audit that checked nothing says so.
audit: dev-install
	@mkdir -p build; status=0; \
	$(BIN)/pip-audit --vulnerability-service pypi --disable-pip --no-deps --progress-spinner off \
		-r requirements/runtime.txt -r requirements/dev.txt -r requirements/build.txt >build/audit.log 2>&1 || status=$$?; \
	cat build/audit.log; \
	skipped=$$(grep -c 'could not be audited' build/audit.log || true); \
	if [ "$$skipped" -gt 0 ]; then echo "AUDIT INCOMPLETE: $$skipped locked package(s) could not be audited (see above)" >&2; fi; \
	exit $$status

# Compiled at build time; .mo files are not committed. Fuzzy entries are not used.
translations:
	for catalogue in intake/translations intake/staff_translations; do \
		if [ -d $$catalogue ]; then $(BIN)/pybabel compile --statistics -d $$catalogue || exit 1; fi; \
	done

# After changing a public template or intake/questions.py: merge the new
# strings into intake/translations, then translate them in ru and uk
# (tests/test_translations_public.py fails until every one is translated).
public-catalogue:
	mkdir -p build
	$(BIN)/pybabel extract -F babel-public.cfg -k lazy_gettext --add-location=file --sort-by-file -o build/public.pot .
	$(BIN)/pybabel update -i build/public.pot -d intake/translations -w 100 --no-fuzzy-matching --ignore-obsolete

# Rebuilds crypto/wordlists/{ru,uk}.txt from pinned word data; the output is committed.
wordlists: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[wordlists]'
	$(BIN)/python tools/build-wordlists

system-packages:
	tools/ensure-system-packages age chromium chromium-driver nginx tor

# Development server on loopback over plain HTTP (hence the insecure-cookie switch).
run: install
	INTAKE_ENV=development INTAKE_INSECURE_COOKIES=1 $(BIN)/flask --app wsgi intake migrate
	INTAKE_ENV=development INTAKE_INSECURE_COOKIES=1 $(BIN)/flask --app wsgi run --host 127.0.0.1 --port $(PORT)

test: dev-install system-packages lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The fast loop while working: lint, then everything but the multi-gigabyte
# (`slow`) and headless-browser tests. `make test` still runs all of them.
check: lint
	$(BIN)/python -m pytest -q -m "not slow and not browser" $(PYTEST_ARGS)

lint: dev-install
	$(BIN)/ruff check .
	$(BIN)/mypy

# The same suite against PostgreSQL (database `test` on 127.0.0.1:5432 by default).
test-postgres: dev-install system-packages
	INTAKE_TEST_DATABASE_URL=$${INTAKE_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: dev-install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build dist *.egg-info
