# Local OpenSearch + k-NN node (scripts/opensearch-local.sh) and its benchmark.
# The node lives outside the repo (OS_BASE, default /opt/openfrs-opensearch).
OS_PORT ?= 9200
OPENSEARCH_URL ?= http://127.0.0.1:$(OS_PORT)
# Records whether opensearch-start launched the node, so opensearch-stop never kills a node it reused.
OS_STATE_FILE ?= /tmp/openfrs-opensearch-$(OS_PORT).started
BENCH_FACES ?= 100000

.PHONY: opensearch-install opensearch-start opensearch-stop opensearch-status opensearch-smoke \
        test-opensearch bench-search-opensearch

opensearch-install:
	OS_PORT=$(OS_PORT) scripts/opensearch-local.sh install

opensearch-start:
	OS_PORT=$(OS_PORT) scripts/opensearch-local.sh start $(OS_STATE_FILE)

opensearch-stop:
	OS_PORT=$(OS_PORT) scripts/opensearch-local.sh stop $(OS_STATE_FILE)

opensearch-status:
	OS_PORT=$(OS_PORT) scripts/opensearch-local.sh status

opensearch-smoke: opensearch-start
	OS_PORT=$(OS_PORT) scripts/opensearch-local.sh smoke

# Backend tests + the store contract suite against a real node; stops the node only if it started it.
test-opensearch: venv
	@OS_PORT=$(OS_PORT) scripts/opensearch-local.sh start $(OS_STATE_FILE).test; \
	OPENSEARCH_URL=$(OPENSEARCH_URL) $(PYBIN) -m pytest -q tests/opensearch tests/store; rc=$$?; \
	OS_PORT=$(OS_PORT) scripts/opensearch-local.sh stop $(OS_STATE_FILE).test; exit $$rc

bench-search-opensearch: venv opensearch-start
	OPENSEARCH_URL=$(OPENSEARCH_URL) $(PYBIN) -m bench.search_scale_opensearch --faces $(BENCH_FACES)
