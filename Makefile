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

# The live-page browser test drives the distribution's Chromium; install it once when we may.
system-deps:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; fi

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
