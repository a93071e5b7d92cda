# Operations (owner: observability, issue 18). See docs/operations.md.
#   make docs-ui                 Swagger UI assets for GET /docs, from the pinned npm package
#   make bench-observability     cold start and p50 of detect/search with powertools on and off
.PHONY: docs-ui bench-observability

DOCS_UI_VENDOR := chalicelib/api/docs_ui/vendor/VERSION

$(DOCS_UI_VENDOR): scripts/fetch_swagger_ui.py
	$(PYBIN) scripts/fetch_swagger_ui.py

docs-ui: venv $(DOCS_UI_VENDOR)

# The page is part of what is served, tested and packaged.
serve test test-fast package: docs-ui

bench-observability: models docs-ui
	$(PYBIN) -m bench.cold_start --compare-observability
