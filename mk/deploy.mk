# Serverless deployment (owner: deploy). See docs/deploy.md.
#   make layer                 dependency + model layers, size gate (fails > 250 MB)
#   make layer-smoke           ... and run every model from the built layers
#   make policy STAGE=prod     regenerate .chalice/policy-prod.json from the stage settings
#   make package STAGE=prod    build/package-prod/sam.json + zips, offline
#   make bench-cold-start      fresh-interpreter time to the first detect/compare/search
#   make test-deploy           tests/deploy
#   make test-on-layer         the API/vision/liveness suites on the layer's (older) numpy/onnxruntime/Pillow
.PHONY: layer layer-smoke policy package bench-cold-start test-deploy test-on-layer

STAGE ?= prod

layer: models
	$(PYBIN) layers/build_layer.py --json layers/build/figures.json

layer-smoke: models
	$(PYBIN) layers/build_layer.py --smoke --json layers/build/figures.json

policy: venv
	$(PYBIN) -m deploy.policy --stage $(STAGE)

# The layer is built first so the template references existing zips; a layer
# over the limit stops the build here.
package: layer
	$(PYBIN) -m deploy.package --stage $(STAGE) --out build/package-$(STAGE)

bench-cold-start: models
	$(PYBIN) -m bench.cold_start

test-deploy: venv
	$(PYBIN) -m pytest -q tests/deploy

# --no-gate: an over-limit layer is still worth testing the code against.
test-on-layer: models
	$(PYBIN) layers/build_layer.py --smoke --no-gate
	$(PYBIN) layers/test_on_layer.py -q tests/api tests/vision tests/liveness
