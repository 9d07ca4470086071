# The two quick-start commands: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: demo test install lint messages

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
