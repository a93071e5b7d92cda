# Vision engine benchmarks (figures in docs/vision.md). Each prints a
# one-line JSON summary as its last line. Datasets: ../shared/datasets.
.PHONY: bench-lfw bench-lfw-ci bench-caltech bench-speed bench-calibrate

LFW_FOLDS ?= 10

bench-lfw: models
	$(PYBIN) bench/verify_lfw.py --folds $(LFW_FOLDS)

bench-lfw-ci: models
	$(PYBIN) bench/verify_lfw.py --folds 1

bench-caltech: models
	$(PYBIN) bench/detect_caltech.py

# Needs face_recognition==1.3.0 and dlib-bin for the side-by-side baseline
# (pass SPEED_ARGS=--no-baseline without them).
bench-speed: models
	$(PYBIN) bench/pipeline_speed.py $(SPEED_ARGS)

# Refits models/calibration.json (commit the result with the figures).
bench-calibrate: models
	$(PYBIN) bench/fit_calibration.py
