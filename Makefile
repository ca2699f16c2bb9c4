# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PGTAP_PKG := postgresql-15-pgtap

.PHONY: install pgtap run test lint bench clean

$(BIN)/postcart: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/postcart

# pgTAP for the system PostgreSQL (Debian); the suite loads its script into other versions.
pgtap:
	@ls /usr/share/postgresql/*/extension/pgtap.control >/dev/null 2>&1 || { \
	  command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PGTAP_PKG)) \
	  || { echo "pgTAP missing: install $(PGTAP_PKG)"; exit 1; }; }

run: install
	$(BIN)/postcart up

test: install pgtap lint
	$(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)

lint: install
	$(BIN)/sqlfluff lint sql migrations

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .postcart
