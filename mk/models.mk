# Model build helpers (owner: models). `make models` itself lives in Makefile.
.PHONY: models-check models-force models-int8 models-verify test-models

models-check: venv
	$(PYBIN) -m models.build --check

models-force: venv
	$(PYBIN) -m models.build --force

# Optional static-int8 embedder next to the fp32 one (not the default).
models-int8: models
	$(PYBIN) -m models.build --int8

# dlib-bin reference comparison of the ONNX embedder (needs requirements-dev).
models-verify: models
	$(PYBIN) -m models.verify_dlib

test-models: models
	$(PYBIN) -m pytest -q tests/models
