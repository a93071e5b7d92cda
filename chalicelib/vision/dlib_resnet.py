"""dlib's ResNet (2017, 128-d, 150x150 chip): the embedder of face sets made
before SFace became the default (models/convert_dlib_resnet.py builds it)."""
from __future__ import annotations

import numpy as np

from chalicelib.vision.embedder import EmbedderFamily

# Where CenterFace's five points (left eye, right eye, nose tip, left and
# right mouth corner as seen in the image) fall in dlib's 150x150 face chip
# (get_face_chip, padding 0.25): median over 1,920 LFW faces mapped with
# dlib's own HOG + 5-point chip geometry, made mirror-symmetric about the
# chip's centre column so a flipped chip is the aligned mirrored face.
DLIB_CHIP_TEMPLATE = np.array(
    [[46.45, 46.75], [102.55, 46.75], [74.5, 78.4], [51.0, 103.55], [98.0, 103.55]],
    dtype=np.float32)

# Flip averaging is part of this family's recipe: its stored vectors and
# calibration were made with it (docs/vision.md).
FAMILY = EmbedderFamily("dlib_resnet", DLIB_CHIP_TEMPLATE, 150, flip_tta=True)
