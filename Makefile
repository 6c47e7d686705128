# Two commands do all the set-up on a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run demo test lint format bench clean browser-deps

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "error: Python 3.11 or newer is needed (set PYTHON=...)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/openbank up

demo: $(INSTALLED)
	$(BIN)/openbank up --with-demo

# The browser tests (tests/browser) drive Debian's chromium through Playwright; never a downloaded browser.
# A CJK font makes the Chinese pages legible in the screenshots. Installed once, quietly, only when missing.
BROWSER_PACKAGES := chromium fonts-wqy-zenhei
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(BROWSER_PACKAGES) >/dev/null
browser-deps:
	@test -x /usr/bin/chromium || ! command -v apt-get >/dev/null || \
		$(APT_INSTALL) 2>/dev/null || { apt-get update -qq >/dev/null && $(APT_INSTALL); } || \
		echo "note: chromium not installed (apt-get needs root); the browser tests will be skipped"

test: $(INSTALLED) browser-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q -n 2 --dist loadgroup  # two workers, each with its own fresh databases (pytest-xdist); a group's tests share one worker

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Every benchmark runs even when one misses its target (exit 3); make bench then fails with the last such status.
bench: $(INSTALLED)
	@status=0; for bench in "provisioning --backend all" "tokens --peer" gateway lending payments; do \
		$(BIN)/openbank bench $$bench || status=$$?; done; \
	$(BIN)/python -m loadtests.classroom --teams 30 || status=$$?; exit $$status

clean:
	rm -rf var
