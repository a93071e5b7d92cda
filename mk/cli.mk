# The `openfrs` command line (openfrs_cli/, README "Command line"), face-set
# export/restore (docs/transfer.md) and their benchmarks (owner: issue 17).
CLI_WORKERS ?= 2
TRANSFER_FACES ?= 100000

.PHONY: test-cli bench-cli-import bench-transfer bench-transfer-opensearch

test-cli: models
	$(PYBIN) -m pytest -q tests/cli tests/api/test_transfer.py tests/store/test_transfer.py

# LFW's 13,233 images with 2 workers into the embedded store, SIGKILL half way and resume
# (about 20-40 minutes on 2 cores; needs ../shared/datasets/lfw).
bench-cli-import: models
	$(PYBIN) -m bench.cli_import_lfw --workers $(CLI_WORKERS)

# A 100,000-face set exported and restored with the command, 3 runs (medians).
bench-transfer: models
	$(PYBIN) -m bench.transfer_100k --faces $(TRANSFER_FACES) --runs 3

# The same set moved from the embedded store into a local OpenSearch node.
bench-transfer-opensearch: models opensearch-start
	OPENSEARCH_URL=$(OPENSEARCH_URL) $(PYBIN) -m bench.transfer_100k --faces $(TRANSFER_FACES) --runs 1 \
	  --into opensearch
