"""SFace (Zhong et al. 2021; OpenCV Zoo, 128-d, 112x112 chip): the default
embedder (models/convert_sface.py builds it). Chips are aligned to the
standard ArcFace five-point template, as OpenCV's FaceRecognizerSF does."""
from __future__ import annotations

import numpy as np

from chalicelib.vision.embedder import EmbedderFamily

# InsightFace's 112x112 template, image order: eye with the smaller x, other
# eye, nose tip, mouth corner with the smaller x, other mouth corner (the
# order CenterFace answers).
ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
     [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float32)

FAMILY = EmbedderFamily("sface", ARCFACE_TEMPLATE, 112, flip_tta=False)
