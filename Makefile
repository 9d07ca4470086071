# The two quick-start commands: `make demo` and `make test`; `make bench` for the budgets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: demo test install lint messages bench lock sbom audit-deps

$(BIN)/python:
	@echo "Creating the virtual environment in $(VENV)/ ..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Exactly the versions of requirements.lock, each checked against its hashes; then Amparo itself,
# built by the locked setuptools (no build isolation: nothing unpinned is fetched).
$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/python
	@echo "Installing Amparo and its dependencies into $(VENV)/ (the first time takes a few minutes) ..."
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@echo "Installed."
	touch $@

install: $(VENV)/.installed

# The dependency tools (pip-tools, pip-audit, cyclonedx-bom) in a virtual environment of their
# own, from their own lock: their dependencies stay out of the one the tests run in.
TOOLS_VENV ?= .venv-tools
TOOLS_BIN := $(TOOLS_VENV)/bin

$(TOOLS_VENV)/.installed: requirements/tools.lock
	$(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_BIN)/python -m pip install --quiet --require-hashes -r requirements/tools.lock
	touch $@

# requirements.lock again from pyproject.toml (runtime, the test extra and the build backend).
# Pinned versions stay unless pyproject.toml no longer allows them; `make lock UPGRADE=1`
# moves every package to its newest allowed release. Review the diff before committing.
LOCK_FLAGS = --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	--no-emit-find-links $(if $(UPGRADE),--upgrade)

lock: $(TOOLS_VENV)/.installed
	$(TOOLS_BIN)/pip-compile $(LOCK_FLAGS) --extra test --build-deps-for=editable \
		-o requirements.lock pyproject.toml
	$(TOOLS_BIN)/pip-compile $(LOCK_FLAGS) -o requirements/tools.lock requirements/tools.in

# A CycloneDX SBOM of the locked dependencies, read from requirements.lock (no network).
SBOM ?= sbom.cdx.json

sbom: $(TOOLS_VENV)/.installed
	$(TOOLS_BIN)/cyclonedx-py requirements --pyproject pyproject.toml --of JSON \
		--output-reproducible -o $(SBOM) requirements.lock
	@echo "SBOM of requirements.lock written to $(SBOM)."

# Known vulnerabilities of the locked versions (README.md, "Dependencies"). pip-audit asks
# PyPI's JSON API per version (AUDIT_SERVICE=osv: api.osv.dev). --strict: a package it could not
# look up fails the run instead of passing unaudited. Not part of CI: a network hiccup is not
# a failed build.
AUDIT_SERVICE ?= pypi
# One question the service must answer first, so that "unreachable" is told apart from "vulnerable".
AUDIT_URL_pypi = https://pypi.org/pypi/Django/5.2/json
AUDIT_URL_osv = https://api.osv.dev/v1/query
AUDIT_DATA_osv = json.dumps(dict(version='5.2', package=dict(name='django', ecosystem='PyPI'))).encode()

audit-deps: $(TOOLS_VENV)/.installed
	@$(TOOLS_BIN)/python -c "import json, urllib.request as r; r.urlopen(r.Request('$(AUDIT_URL_$(AUDIT_SERVICE))', \
		data=$(or $(AUDIT_DATA_$(AUDIT_SERVICE)),None)), timeout=30)" 2>/dev/null || \
		{ echo "make audit-deps: the vulnerability service '$(AUDIT_SERVICE)' cannot be queried from here" \
		"($(AUDIT_URL_$(AUDIT_SERVICE)) fails), so nothing was audited. Run it where that address" \
		"answers, or choose the other service: AUDIT_SERVICE=osv or AUDIT_SERVICE=pypi."; exit 2; }
	$(TOOLS_BIN)/pip-audit --requirement requirements.lock --require-hashes --disable-pip --strict \
		--vulnerability-service $(AUDIT_SERVICE) --progress-spinner off

demo: install
	$(BIN)/python manage.py init_keys
	$(BIN)/python manage.py init_audit_key
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py compile_catalogs
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py seed_asylum_demo
	$(BIN)/python manage.py seed_tip_demo
	$(BIN)/python manage.py seed_biometrics_demo
	$(BIN)/python manage.py audit_checkpoint
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: install
	$(BIN)/python manage.py compile_catalogs
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

messages: install
	$(BIN)/python manage.py makemessages -l es --ignore=.venv --ignore=var --ignore=bench --ignore=tests

# The budgets of bench/README.md on a bench database of its own (dropped and generated again):
# create/migrate, BENCH_PEOPLE people, BENCH_CASES asylum cases into their procedures, then
# bench/budgets.py prints the table. Under 15 minutes at 100,000 people.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/amparo_bench
BENCH_PEOPLE ?= 100000
BENCH_CASES ?= 20000
BENCH_ENV = DJANGO_SETTINGS_MODULE=settings.dev DATABASE_URL=$(BENCH_DATABASE_URL) \
	AMPARO_KEY_FILE=$(CURDIR)/var/bench/keys.json \
	AMPARO_AUDIT_KEY_FILE=$(CURDIR)/var/bench/audit-signing.pem \
	AMPARO_AUDIT_SINK=$(CURDIR)/var/bench/audit-checkpoints

bench: install
	$(BIN)/python manage.py compile_catalogs
	@set -e; start=$$(date +%s); \
	$(BENCH_ENV) $(BIN)/python manage.py init_keys; \
	$(BENCH_ENV) $(BIN)/python manage.py init_audit_key; \
	$(BENCH_ENV) $(BIN)/python bench/generate.py --reset --people $(BENCH_PEOPLE); \
	$(BENCH_ENV) $(BIN)/python bench/workflow.py --only fill --cases $(BENCH_CASES); \
	$(BENCH_ENV) $(BIN)/python bench/budgets.py $(BUDGETS_ARGS); \
	echo "make bench took $$(( $$(date +%s) - start )) s; load average now $$(cut -d' ' -f1-3 /proc/loadavg)"
