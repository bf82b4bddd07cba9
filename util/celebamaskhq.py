"""CelebAMask-HQ's 19 face-part classes and their colour palette (INVENTORY §9.4)."""

import numpy as np

# Index = label id; the order of SEAN's g_mask.py, where later parts overwrite earlier ones.
CLASS_NAMES = (
    "background", "skin", "nose", "eye_g", "l_eye", "r_eye", "l_brow", "r_brow",
    "l_ear", "r_ear", "mouth", "u_lip", "l_lip", "hair", "hat", "ear_r", "neck_l",
    "neck", "cloth",
)

# RGB colour of each label id, the palette of SEAN's v_mask.py.
PALETTE = np.array(
    [
        (0, 0, 0), (204, 0, 0), (76, 153, 0), (204, 204, 0), (51, 51, 255),
        (204, 0, 204), (0, 255, 255), (51, 255, 255), (102, 51, 0), (255, 0, 0),
        (102, 204, 0), (255, 255, 0), (0, 0, 153), (0, 0, 204), (255, 51, 153),
        (0, 204, 204), (0, 51, 0), (255, 153, 51), (0, 204, 0),
    ],
    dtype=np.uint8,
)


def colorize(label_ids: np.ndarray) -> np.ndarray:
    """Colour preview of a CelebAMask-HQ label map.

    Args:
        label_ids: H×W integer array of class ids in 0..18.

    Returns:
        H×W×3 uint8 RGB image, each pixel the PALETTE colour of its class.
    """
    label_ids = np.asarray(label_ids)
    if label_ids.size and (label_ids.min() < 0 or label_ids.max() >= len(PALETTE)):
        raise ValueError(
            f"label ids must lie in 0..{len(PALETTE) - 1} for CelebAMask-HQ, "
            f"got values from {label_ids.min()} to {label_ids.max()}"
        )
    return PALETTE[label_ids]
