# A real browser for the /docs and /console tests: Debian's chromium, driven by
# Playwright for Python (requirements-dev.txt) through its executable path.
CHROMIUM ?= /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: browser
browser: $(CHROMIUM)

$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "no apt-get: install Chromium and set CHROMIUM=/path/to/it"; exit 1; }
	$(SUDO) apt-get update -q
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends chromium
export FRS_TEST_CHROMIUM ?= $(CHROMIUM)

# Rewrites the screenshots in docs/ (console pages, /docs) from the browser
# tests; a plain `make test` photographs into a temp folder instead.
.PHONY: screenshots
screenshots: models browser
	FRS_UPDATE_SCREENSHOTS=1 $(PYBIN) -m pytest -q tests/console tests/operations/test_docs_page.py
