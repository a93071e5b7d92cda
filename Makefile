# OpenFRS developer entry points. `make serve` and `make test` are all a
# newcomer needs: each sets up what is missing (virtualenv, pinned
# dependencies, models) and then runs.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
PYBIN := $(VENV)/bin/python
FRS_PORT ?= 8000
export FRS_DATA_DIR ?= .frs-data

.PHONY: venv models serve test clean

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-build.txt
	test -x $(PYBIN) || $(PY) -m venv $(VENV)
	$(PYBIN) -m pip install -q --upgrade pip
	$(PYBIN) -m pip install -q -r requirements-dev.txt -r requirements-build.txt
	touch $@

venv: $(VENV)/.installed

models: venv
	$(PYBIN) -m models.build

serve: models
	$(PYBIN) -m chalicelib.serve_banner
	$(VENV)/bin/chalice local --host 127.0.0.1 --port $(FRS_PORT) --stage local

# Area-specific targets (opensearch, bench-*, layer, package, fuzz) live in mk/.
-include mk/*.mk

clean:
	rm -rf $(VENV) models/*.onnx models/manifest.json models/.cache
