# Pinwheel: `make run` and `make test` do all of their own set-up.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test lint bench screenshots setup translations translations-update browser-deps spamassassin-deps netns-deps bench-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP) translations

# Readers' languages: gettext catalogues, compiled here (the .mo files are never committed).
CATALOGUES := $(wildcard translations/*/LC_MESSAGES/messages.po)
translations: $(CATALOGUES:.po=.mo)

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel -q compile -i $< -o $@ -l $*

# After changing what readers see: gather the strings, then translate what is new or changed.
translations-update: $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext --project Pinwheel -o translations/messages.pot .
	$(BIN)/pybabel -q update -i translations/messages.pot -d translations --no-fuzzy-matching

# Front-end assets (Swagger UI) and browser test tools (axe-core, vnu-jar) come from npm.
node_modules/.installed: package.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm install --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	else echo "npm is missing: API docs assets and browser checks are unavailable"; fi

# Browser tests drive the system's Chromium; install it where it is missing (CI runs as root).
browser-deps: node_modules/.installed
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: browser tests will be skipped"; fi; }

# The deliverability test scores real messages with SpamAssassin's stock rules (Debian package).
spamassassin-deps:
	@command -v spamassassin >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq spamassassin >/dev/null; \
	  else echo "spamassassin is missing: the SpamAssassin test will be skipped"; fi; }

# The multi-host tests build hosts from network namespaces with iproute2 (ip, tc, ss); like the
# namespaces themselves, installing it needs root (CI runs as root).
netns-deps:
	@{ command -v ip && command -v tc && command -v ss; } >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq iproute2 >/dev/null; \
	  else echo "iproute2 is missing: the multi-host tests will be skipped"; fi; }

run: setup node_modules/.installed
	$(BIN)/pinwheel db upgrade
	$(BIN)/pinwheel demo --if-empty
	PINWHEEL_MAIL_BACKEND=outbox PINWHEEL_RUN_SCHEDULER=true \
	  $(BIN)/pinwheel run --host $(HOST) --port $(PORT)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test: setup browser-deps spamassassin-deps netns-deps lint
	$(BIN)/python -m pytest

# The web load test drives the server with wrk (a second process, little CPU); locust otherwise.
bench-deps:
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null; \
	  else echo "wrk is missing: the web load test falls back to locust"; fi; }

bench: setup bench-deps
	$(BIN)/python -m bench

screenshots: setup browser-deps
	$(BIN)/python -m bench.screenshots

clean:
	rm -rf $(VENV) node_modules
