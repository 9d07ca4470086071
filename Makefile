# The two quick-start commands: `make demo` and `make test`; `make bench` for the budgets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: demo test install lint messages bench

$(BIN)/python:
	@echo "Creating the virtual environment in $(VENV)/ ..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "Installing Amparo and its dependencies into $(VENV)/ (the first time takes a few minutes) ..."
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@echo "Installed."
	touch $@

install: $(VENV)/.installed

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
