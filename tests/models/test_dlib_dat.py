"""dlib wire-format primitives, on hand-made bytes (no model needed)."""
from __future__ import annotations

import numpy as np
import pytest

from models.dlib_dat import DlibFormatError, _split, _Stream


def test_integers_sign_and_length_nibble():
    s = _Stream(bytes([0x01, 0x02, 0x82, 0x2C, 0x01, 0x00, 0x81, 0x1C]))
    assert s.int() == 2
    assert s.int() == -300          # 0x012c, little-endian, sign bit 0x80
    assert s.int() == 0             # zero bytes of magnitude
    assert s.int() == -28


def test_float_is_mantissa_times_power_of_two():
    # Bytes as dlib wrote loss_metric's 0.6 distance threshold.
    s = _Stream(bytes([0x03, 0x9A, 0x99, 0x99, 0x81, 0x18]))
    assert s.float() == pytest.approx(0.6, abs=1e-7)


def test_reserved_bits_rejected():
    with pytest.raises(DlibFormatError):
        _Stream(bytes([0x31, 0x00])).int()  # an ASCII digit, i.e. the old text format


def test_string_bool_and_tensor():
    vals = np.array([1.5, -2.0, 0.25, 3.0, 4.0, 5.0], "<f4")
    data = (bytes([0x01, 0x04]) + b"con_" + b"1"
            + bytes([0x01, 0x02, 0x01, 0x01, 0x01, 0x02, 0x01, 0x03, 0x01, 0x01]) + vals.tobytes())
    s = _Stream(data)
    assert s.str() == "con_" and s.bool() is True
    t = s.tensor()
    assert t.shape == (1, 2, 3, 1) and np.array_equal(t.reshape(-1), vals)
    with pytest.raises(DlibFormatError):
        s.int()  # nothing left: truncated


def test_split_checks_alias_sizes():
    p = np.arange(10, dtype=np.float32)
    w, b = _split(p, (2, 4), (2,))
    assert w.shape == (2, 4) and b.tolist() == [8, 9]
    with pytest.raises(DlibFormatError):
        _split(p, (3, 3))           # leaves a value unused
