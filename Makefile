# OpenFRS developer entry points. `make serve` and `make test` are all a
# newcomer needs: each sets up what is missing (virtualenv, pinned
# dependencies, models) and then runs.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
PYBIN := $(VENV)/bin/python
FRS_PORT ?= 8000
export FRS_DATA_DIR ?= .frs-data

.PHONY: venv models serve test test-fast check clean

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-build.txt requirements-cli.txt pyproject.toml
	test -x $(PYBIN) || $(PY) -m venv $(VENV)
	$(PYBIN) -m pip install -q --upgrade pip
	$(PYBIN) -m pip install -q -r requirements-dev.txt -r requirements-build.txt -r requirements-cli.txt
	# The `openfrs` command (openfrs_cli/), editable; its dependencies are the pins above.
	$(PYBIN) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

venv: $(VENV)/.installed

# OPT_IN=passive_liveness also builds the opt-in silent-liveness model, OPT_IN=attributes
# the age/gender models; comma-separate both (README, Models).
models: venv
	FRS_OPT_IN_MODELS=$(OPT_IN) $(PYBIN) -m models.build

# One BLAS thread: exact search is a matrix-vector product, and OpenBLAS's
# threads cost more than they save on small machines (docs/store.md).
# --no-autoreload: Chalice's reloader polls every file under the project
# (.venv included) and restarts the server whenever one changes, which
# includes the embedded store's own files under .frs-data after every write.
serve: export OPENBLAS_NUM_THREADS ?= 1
# The second banner waits for GET /health, asks GET /ready once (loading the
# models before the first request) and says where /docs, /health and /ready are.
serve: models
	$(PYBIN) -m chalicelib.cli.serve_banner
	FRS_PORT=$(FRS_PORT) $(PYBIN) -m chalicelib.cli.serve_banner --when-ready & \
	exec $(VENV)/bin/chalice local --host 127.0.0.1 --port $(FRS_PORT) --stage local --no-autoreload

# Area-specific targets (opensearch, bench-*, layer, package, fuzz) live in mk/.
-include mk/*.mk

# The suite also covers the opt-in silent-liveness and attribute models.
test test-fast: OPT_IN = passive_liveness,attributes,mask,faceapi_attributes,human_attributes
# The whole suite. The store contract and OpenSearch suites need a real node:
# start one (or reuse a running one) and stop only what was started here.
test: models browser
	@OS_PORT=$(OS_PORT) scripts/opensearch-local.sh start $(OS_STATE_FILE).make-test || exit 1; \
	OPENSEARCH_URL=$(OPENSEARCH_URL) $(PYBIN) -m pytest $(PYTEST_ARGS) tests; rc=$$?; \
	OS_PORT=$(OS_PORT) scripts/opensearch-local.sh stop $(OS_STATE_FILE).make-test; exit $$rc

# Everything that needs no OpenSearch node (backend suites skip with a reason).
test-fast: models browser
	env -u OPENSEARCH_URL $(PYBIN) -m pytest $(PYTEST_ARGS) tests

# Lint and types (configuration in pyproject.toml); CI runs this before the suite.
check: venv
	$(PYBIN) -m ruff check .
	$(PYBIN) -m mypy

clean:
	rm -rf $(VENV) models/*.onnx models/manifest.json models/.cache
