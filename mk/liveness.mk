# Liveness (owner: liveness). Models come from `make models` (models/convert_mediapipe.py).
.PHONY: bench-liveness test-liveness bench-head-pose

# Labelled clip suite: accuracy and processing seconds per 5 s of video
# (needs ../shared/datasets/liveness; last line is a JSON summary).
bench-liveness: models
	$(PYBIN) -m bench.liveness_clips

test-liveness: models
	$(PYBIN) -m pytest -q tests/liveness

# Head-pose solver per call, numpy vs OpenCV's solvePnP (last line JSON).
bench-head-pose: models
	$(PYBIN) -m bench.head_pose_speed
