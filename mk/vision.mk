# Vision engine benchmarks (figures in docs/vision.md). Each prints a
# one-line JSON summary as its last line. Datasets: ../shared/datasets.
.PHONY: bench-lfw bench-lfw-ci bench-caltech bench-utkface-detect bench-speed bench-calibrate

LFW_FOLDS ?= 10

bench-lfw: models
	$(PYBIN) -m bench.verify_lfw --folds $(LFW_FOLDS)

bench-lfw-ci: models
	$(PYBIN) -m bench.verify_lfw --folds 1

bench-caltech: models
	$(PYBIN) -m bench.detect_caltech

# No-face rate on UTKFace chips by race group and age band (tight crops).
bench-utkface-detect: models
	$(PYBIN) -m bench.detect_utkface

# Needs face_recognition==1.3.0 and dlib-bin for the side-by-side baseline
# (pass SPEED_ARGS=--no-baseline without them).
bench-speed: models
	$(PYBIN) -m bench.pipeline_speed $(SPEED_ARGS)

# Refits models/calibration.json (commit the result with the figures).
bench-calibrate: models
	$(PYBIN) -m bench.fit_calibration
