# Kotopolku. Quick start: `make run` (serve with demo data) and `make test` (everything CI runs).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test install translations lint typecheck audit-deps check-migrations test-sqlite test-postgres postgres chromium espeak extract bench bench-outbox bench-reports clean lighthouse audit-ui

$(STAMP): pyproject.toml
	test -d $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Compiled catalogs are build output; the .po files are the source.
translations: install
	set -o pipefail; $(BIN)/pybabel compile -d app/locales -D messages 2>&1 | { grep -v '^compiling catalog' || true; }

# A development mail server keeps notification e-mails in var/mailbox (Maildir) unless SMTP_HOST is set.
# The demo: officers sign in with the demo password alone (production asks for a second factor).
run: export STAFF_SECOND_FACTOR ?= 0
run: translations espeak
	$(BIN)/kotopolku migrate
	$(BIN)/kotopolku demo --if-empty
	@if [ -z "$$SMTP_HOST" ]; then mkdir -p var/mailbox/tmp var/mailbox/new var/mailbox/cur; \
	  $(BIN)/python -m aiosmtpd -n -l 127.0.0.1:1025 -c aiosmtpd.handlers.Mailbox var/mailbox & \
	  trap "kill $$! 2>/dev/null" EXIT; echo "E-mail notifications are kept in var/mailbox (development mail server)."; \
	  $(BIN)/kotopolku serve; else $(BIN)/kotopolku serve; fi

# Re-extract strings after changing them, then translate the new ones in app/locales/*/messages.po.
extract: install
	$(BIN)/pybabel extract -F babel.cfg -k N_ --sort-by-file --add-location=file --no-wrap --project=Kotopolku -o app/locales/messages.pot app
	$(BIN)/pybabel update -i app/locales/messages.pot -d app/locales -D messages --no-wrap --ignore-obsolete --no-fuzzy-matching

postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; echo "PostgreSQL did not start"; exit 1

chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# Read-aloud audio for languages a phone has no voice for (the migrant app and the public pages).
espeak:
	@command -v espeak-ng >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng >/dev/null)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -q -r app -c pyproject.toml --severity-level medium

# Known vulnerabilities of the installed packages (pip-audit); says "skipped" and passes when no
# vulnerability service is reachable. Not part of `make test`: the network must not decide the build.
audit-deps: install
	$(BIN)/python scripts/audit_deps.py

typecheck: install
	$(BIN)/mypy app

check-translations: install
	$(BIN)/python scripts/check_translations.py

check-migrations: install postgres
	rm -f var/check.db && mkdir -p var
	DATABASE_URL=sqlite:///var/check.db $(BIN)/alembic upgrade head && DATABASE_URL=sqlite:///var/check.db $(BIN)/alembic check
	psql -q -h 127.0.0.1 -U postgres -c 'DROP DATABASE IF EXISTS kotopolku_check' -c 'CREATE DATABASE kotopolku_check'
	DATABASE_URL=postgresql://postgres@127.0.0.1:5432/kotopolku_check $(BIN)/alembic upgrade head
	DATABASE_URL=postgresql://postgres@127.0.0.1:5432/kotopolku_check $(BIN)/alembic check

# Every test on SQLite; the integration tests (everything that reads or writes the database: the HTTP
# routes, jobs, policy, audit, concurrency, backup) again on PostgreSQL. The unit tests touch no database,
# and the browser tests drive the same routes through Chromium; a second run of those would add minutes
# and test no more of PostgreSQL.
test-sqlite: translations chromium espeak
	TEST_DATABASE_URL=sqlite $(BIN)/pytest -n 2 -q

test-postgres: translations espeak postgres
	TEST_DATABASE_URL=$(PG_URL) $(BIN)/pytest -n 2 -q tests/integration

test: lint typecheck check-translations check-migrations test-sqlite test-postgres

# Issue 8 at scale: plan page, client page, client search, knowledge-base search and dashboard beside a bare
# endpoint, 100k clients / 1M appointments / 5M audit events (kotopolku_bench, reused; BENCH_ARGS=--fresh).
bench: translations postgres
	$(BIN)/python scripts/bench.py $(BENCH_ARGS)

# Outbox throughput (1 and 2 workers to a local SMTP server) and reminder scheduling with 100k appointments.
bench-outbox: translations postgres
	$(BIN)/python scripts/bench_outbox.py $(BENCH_ARGS)

# Managers' dashboards and the CSV exports on a 100k-client register (kotopolku_bench_reports, reused).
bench-reports: translations postgres
	$(BIN)/python scripts/bench_reports.py $(BENCH_ARGS)

# Lighthouse 12 from the npm registry for `make audit-ui`, kept in .tools/ (Node.js from Debian if missing).
LIGHTHOUSE := .tools/lighthouse/node_modules/lighthouse/cli/index.js
lighthouse:
	@command -v npm >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null)
	@test -f $(LIGHTHOUSE) || npm install --prefix .tools/lighthouse --no-audit --no-fund --silent lighthouse@12

# The migrant app's budgets (issue 4): first visit ≤ 50 KB compressed, no web fonts; Lighthouse (mobile)
# performance ≥ 95, accessibility 100, best practices 100 on / and /me/; axe-core 0 on every /me/ page in
# fi and ar. Prints the figures under the command that made them; exits 1 on a miss.
# AUDIT_ARGS="--lighthouse-runs 3 --verbose"
audit-ui: translations chromium espeak lighthouse
	$(BIN)/python scripts/audit_ui.py $(AUDIT_ARGS)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache .tools
