# Embedded store: its tests and the 100k-face search benchmark (owner: store).
BENCH_FACES ?= 100000

.PHONY: test-store bench-search

# Contract suite (embedded; opensearch too when OPENSEARCH_URL is set) + embedded-only tests.
test-store: venv
	$(PYBIN) -m pytest -q tests/store

# Depends on models so synthetic vectors are fitted to real LFW embeddings
# (without them the script falls back to an isotropic Gaussian and says so).
bench-search: models
	$(PYBIN) -m bench.search_scale --backend embedded --faces $(BENCH_FACES)
