# face-api.js age/gender and expression (opt-in, issue 16; docs/vision.md,
# "Face attributes"). Benchmarks print a one-line JSON summary last.
.PHONY: bench-expression-check verify-faceapi-attributes

# Expression on 48 stills labelled smiling / not smiling by eye (weak evidence).
bench-expression-check: venv
	FRS_OPT_IN_MODELS=faceapi_attributes $(PYBIN) -m models.build
	$(PYBIN) -m bench.expression_check

# The converted nets against face-api itself (node, tfjs CPU backend); npm
# installs go to a scratch folder outside the repository, never node_modules here.
FACEAPI_NODE_PREFIX ?= /tmp/openfrs-faceapi-node-$(shell id -u)
verify-faceapi-attributes: venv
	FRS_OPT_IN_MODELS=faceapi_attributes $(PYBIN) -m models.build
	mkdir -p $(FACEAPI_NODE_PREFIX) && cd $(FACEAPI_NODE_PREFIX) && \
	  { test -f package.json || npm init -y >/dev/null; } && \
	  npm install --no-audit --no-fund @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0 \
	    @vladmandic/face-api@1.7.15 >/dev/null
	$(PYBIN) -m models.verify_faceapi_attributes --node-prefix $(FACEAPI_NODE_PREFIX)
