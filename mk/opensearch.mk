# Local OpenSearch + k-NN node (scripts/opensearch-local.sh) and its benchmark.
# The node lives outside the repo (OS_BASE, default /opt/openfrs-opensearch).
OS_PORT ?= 9200
OPENSEARCH_URL ?= http://127.0.0.1:$(OS_PORT)
# Records whether opensearch-start launched the node, so opensearch-stop never kills a node it reused.
OS_STATE_FILE ?= /tmp/openfrs-opensearch-$(OS_PORT).started
BENCH_FACES ?= 100000

.PHONY: opensearch-install opensearch-start opensearch-stop opensearch-status opensearch-smoke \
        test-opensearch bench-search-opensearch test-cluster

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

# Node loss under load on a local three-node cluster (tests/cluster, docs/opensearch.md "Losing a node").
# Not part of `make test` (about 2 minutes plus the cluster start). Stops every node it started.
CLUSTER_REPORT ?= /tmp/openfrs-node-loss.json
test-cluster: venv
	@scripts/opensearch-cluster.sh start || exit 1; \
	OPENFRS_CLUSTER_TEST=1 OPENFRS_CLUSTER_REPORT=$(CLUSTER_REPORT) \
	  timeout 540 $(PYBIN) -m pytest -q -s -p no:logging tests/cluster; rc=$$?; \
	scripts/opensearch-cluster.sh stop; exit $$rc
