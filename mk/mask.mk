# The mask attribute (issue 16; figures in docs/vision.md, "Mask"): the opt-in
# mask model on UTKFace adults and LFW faces with synthetic masks drawn on
# (bench/mask_synth.py), per group and mask style. Prints a one-line JSON
# summary last. Datasets: ../shared/datasets; generated images cached in /tmp.
.PHONY: bench-mask

bench-mask: venv
	FRS_OPT_IN_MODELS=mask $(PYBIN) -m models.build
	$(PYBIN) -m bench.mask_check
