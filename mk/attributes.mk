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

# Every opt-in attribute model (age/gender, expression, mask).
ATTRIBUTE_OPT_IN = attributes,faceapi_attributes,human_attributes,mask
# The age/gender backend measured (chalicelib/vision/attributes.py BACKENDS:
# faceapi, human_gear, human_ssrnet, faceplugin).
ATTR_BACKEND ?= faceapi

# Age MAE / gender accuracy per UTKFace group of one age/gender backend.
bench-attributes-utkface: venv
	FRS_OPT_IN_MODELS=$(ATTRIBUTE_OPT_IN) $(PYBIN) -m models.build
	$(PYBIN) -m bench.attributes_utkface --backend $(ATTR_BACKEND)

# Cost of each attribute on detect (640x480, one face), without the face_recognition baseline.
bench-attributes-speed: venv
	FRS_OPT_IN_MODELS=$(ATTRIBUTE_OPT_IN) $(PYBIN) -m models.build
	$(PYBIN) -m bench.pipeline_speed --no-baseline --attributes
