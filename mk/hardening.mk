# Hardening (issue 8): the suites in tests/hardening run within `make test`;
# these targets are the long fuzz run and the load benchmark.
FUZZ_EXAMPLES ?= 100
FUZZ_MINUTES ?= 20
LOAD_ARGS ?=

.PHONY: fuzz bench-load test-hardening

# Long schemathesis run against a fresh chalice local (needs schemathesis).
fuzz: models
	$(PYBIN) -m bench.fuzz --examples $(FUZZ_EXAMPLES) --minutes $(FUZZ_MINUTES)

# Bounded loopback load: detect, compare, add, search at concurrency 1,2,4,8.
bench-load: models
	$(PYBIN) -m bench.load $(LOAD_ARGS)

# Only the hardening suites (OpenAPI drift, hostile inputs, fuzz, concurrency,
# crash, privacy).
test-hardening: models
	$(PYBIN) -m pytest $(PYTEST_ARGS) tests/hardening
