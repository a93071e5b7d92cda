"""Helpers of the quantisation experiment that can be checked quickly (the
experiment itself takes minutes and lives in `python -m models.quantize`)."""
from __future__ import annotations

import numpy as np
import pytest

from models import quantize


def test_lfw_pairs_follow_the_official_protocol():
    if not (quantize.DATASETS / "lfw" / "pairs.txt").exists():
        pytest.skip("../shared/datasets/lfw is absent")
    folds = quantize.lfw_pairs(10)
    assert [len(f) for f in folds] == [600] * 10
    for f in folds:
        assert [p[4] for p in f] == [True] * 300 + [False] * 300
        assert all(a == b for a, _, b, _, same in f if same)
        assert all(a != b for a, _, b, _, same in f if not same)


def test_utk_split_is_disjoint_and_deterministic():
    if not quantize.UTK.is_dir():
        pytest.skip("../shared/datasets/distractors/utkface is absent")
    cal, ev = quantize.split_utk(400, 200)
    assert len(cal) == 400 and len(ev) == 200 and not set(cal) & set(ev)
    assert quantize.split_utk(400, 200) == (cal, ev)


def test_drift_measures_what_it_says():
    a = np.eye(3, dtype=np.float32)
    d = quantize.drift(a, a)
    assert d["cosine_min"] == pytest.approx(1.0) and d["l2_max"] == 0
    b = a.copy()
    b[0] = [0, 1, 0]
    d = quantize.drift(a, b)
    assert d["cosine_min"] == pytest.approx(0.0, abs=1e-6) \
        and d["l2_max"] == pytest.approx(np.sqrt(2), abs=1e-3)
