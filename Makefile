# Two commands for a new user (see README): `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test lint typecheck stop clean

install: $(STAMP)
	@$(PY) manage.py migrate --noinput -v 0
	@$(PY) manage.py seed_templates

$(STAMP): pyproject.toml
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing bubblewrap (the local sandbox)..."; \
	    (apt-get install -y -qq bubblewrap >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null)); \
	  else \
	    echo "warning: bubblewrap is missing; install it (sudo apt-get install bubblewrap) to execute scripts." >&2; \
	  fi; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

run: install
	$(PY) manage.py serve

test: $(STAMP)
	$(PY) tests/ensure_services.py
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest -q -n 2 --dist loadfile

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck:
	$(VENV)/bin/mypy config remediation templates_app sandbox

stop:
	$(PY) -c "from config.bootstrap import data_dir; from config.embedded_postgres import stop; print('stopped' if stop(data_dir() / 'postgres') else 'not running')"

clean: stop
	rm -rf $(VENV) .data
