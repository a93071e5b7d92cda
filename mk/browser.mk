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
