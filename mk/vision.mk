# Vision engine benchmarks (figures in docs/vision.md). Each prints a
# one-line JSON summary as its last line. Datasets: ../shared/datasets.
.PHONY: bench-lfw bench-lfw-ci bench-caltech bench-utkface-detect bench-speed bench-calibrate bench-deps \
	bench-demographic

LFW_FOLDS ?= 10

# EMBEDDER=NAME runs any registered embedder (default: the service's default).
EMBEDDER ?=
EMBEDDER_ARG = $(if $(EMBEDDER),--embedder $(EMBEDDER))
# Face vectors of repeated runs are kept here (private to the user).
BENCH_CACHE ?= /tmp/openfrs-bench-$(shell id -u)

bench-lfw: models
	$(PYBIN) -m bench.verify_lfw --folds $(LFW_FOLDS) --all-pairs --cache $(BENCH_CACHE) $(EMBEDDER_ARG)

bench-lfw-ci: models
	$(PYBIN) -m bench.verify_lfw --folds 1

bench-caltech: models
	$(PYBIN) -m bench.detect_caltech

# No-face rate on UTKFace chips by race group and age band (tight crops).
bench-utkface-detect: models
	$(PYBIN) -m bench.detect_utkface

# The side-by-side baseline (face_recognition on dlib-bin) is installed by
# bench-deps; SPEED_ARGS=--no-baseline skips it.
$(VENV)/.bench-installed: requirements-bench.txt $(VENV)/.installed
	$(PYBIN) -m pip install -q --no-deps -r requirements-bench.txt
	touch $@

bench-deps: $(VENV)/.bench-installed

bench-speed: models bench-deps
	$(PYBIN) -m bench.pipeline_speed $(SPEED_ARGS)

# False matches at 0.93 by race group and age band on UTKFace (README table).
bench-demographic: models
	$(PYBIN) -m bench.demographic --cache $(BENCH_CACHE) $(EMBEDDER_ARG)

# Refits one embedder's section of models/calibration.json (commit the result with the figures).
bench-calibrate: models
	$(PYBIN) -m bench.fit_calibration --cache $(BENCH_CACHE) $(EMBEDDER_ARG)
