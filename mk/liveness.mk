# Liveness (owner: liveness). Models come from `make models` (models/convert_mediapipe.py).
.PHONY: bench-liveness bench-liveness-real test-liveness bench-head-pose

# Both suites, three runs, medians: the 48 labelled real cases judged right,
# the synthesised presentation attacks (testkit/attacks.py, rendered into a
# /tmp cache from ../shared/datasets/stills and /liveness) accepted as alive,
# per attack class, and processing seconds per 5 s of 512x512 video
# (last line is a JSON summary).
bench-liveness: models
	$(PYBIN) -m bench.liveness_attacks --runs 3

# The labelled real cases alone, one run, every case printed.
bench-liveness-real: models
	$(PYBIN) -m bench.liveness_clips

test-liveness: models
	$(PYBIN) -m pytest -q tests/liveness

# Head-pose solver per call, numpy vs OpenCV's solvePnP (last line JSON).
bench-head-pose: models
	$(PYBIN) -m bench.head_pose_speed
