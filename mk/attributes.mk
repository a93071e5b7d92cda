# Face attributes benchmarks (issue 16; figures in docs/vision.md, "Face
# attributes"). Each prints a one-line JSON summary as its last line.
# Datasets: ../shared/datasets. BENCH_CACHE comes from mk/vision.mk.
.PHONY: bench-quality bench-face-angle bench-attributes-utkface bench-attributes-speed

# The LFW error-versus-reject curve of total_score (writes docs/quality_erc.png).
bench-quality: models
	$(PYBIN) -m bench.quality_lfw --cache $(BENCH_CACHE)

# face_angle on LFW photos turned four ways (250 people) and the sideways spoof samples.
bench-face-angle: models
	$(PYBIN) -m bench.face_angle

# Age MAE / gender accuracy per UTKFace group of the opt-in attribute models.
bench-attributes-utkface: venv
	FRS_OPT_IN_MODELS=attributes $(PYBIN) -m models.build
	$(PYBIN) -m bench.attributes_utkface

# Cost of each attribute on detect (640x480, one face), without the face_recognition baseline.
bench-attributes-speed: venv
	FRS_OPT_IN_MODELS=attributes $(PYBIN) -m models.build
	$(PYBIN) -m bench.pipeline_speed --no-baseline --attributes
