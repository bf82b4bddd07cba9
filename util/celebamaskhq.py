"""CelebAMask-HQ's 19 face-part classes (docs/reference.md §9.4) and their colour previews."""

import numpy as np

from util.visuals import label_colormap

# Index = label id; the order of SEAN's g_mask.py, where later parts overwrite earlier ones.
CLASS_NAMES = (
    "background", "skin", "nose", "eye_g", "l_eye", "r_eye", "l_brow", "r_brow",
    "l_ear", "r_ear", "mouth", "u_lip", "l_lip", "hair", "hat", "ear_r", "neck_l",
    "neck", "cloth",
)

# The colours of the training and test pages (util/visuals.py: the reference's palette for label_nc + 2
# colours), so that a vis/ preview and a page show a class in the same colour.
PALETTE = label_colormap(len(CLASS_NAMES) + 2)


def colorize(label_ids: np.ndarray) -> np.ndarray:
    """Colour preview of a CelebAMask-HQ label map.

    Args:
        label_ids: H×W integer array of class ids in 0..18.

    Returns:
        H×W×3 uint8 RGB image, each pixel the PALETTE colour of its class.
    """
    label_ids = np.asarray(label_ids)
    if label_ids.size and (label_ids.min() < 0 or label_ids.max() >= len(CLASS_NAMES)):
        raise ValueError(
            f"label ids must lie in 0..{len(CLASS_NAMES) - 1} for CelebAMask-HQ, "
            f"got values from {label_ids.min()} to {label_ids.max()}"
        )
    return PALETTE[label_ids]
