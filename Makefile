# Two commands matter: `make demo` (set up + run the main job on the embedded stack)
# and `make test` (set up + run the whole test suite). Everything else is a helper.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test unit integration bench setup system-deps clean compose-check

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/newsmon up --demo

# Debian packages some tests drive: Chromium (the live page) and docker-compose (validating
# docker-compose.yml). Installed once, in one apt run, when missing and we may.
SYSTEM_PACKAGES := chromium:/usr/bin/chromium docker-compose:/usr/bin/docker-compose
system-deps:
	@missing="$$(for p in $(SYSTEM_PACKAGES); do [ -x "$${p#*:}" ] || echo "$${p%%:*}"; done)"; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

test: $(STAMP) system-deps
	$(BIN)/pytest -n 2 --dist loadgroup -q -p no:cacheprovider

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

integration: $(STAMP) system-deps
	$(BIN)/pytest -q tests/integration

bench: $(STAMP)
	$(BIN)/newsmon bench

compose-check:
	bash deploy/check-compose.sh

clean:
	rm -rf $(VENV) .newsmon
