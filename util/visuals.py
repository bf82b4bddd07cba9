"""Tensors to pictures: generated images and colourised label maps, as the reference writes them (docs/reference.md §5.5, §7)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the dataset scripts colour label maps without loading torch
    import torch

# the Cityscapes palette, used by the reference's colourisation when it is asked for exactly 35 colours
CITYSCAPES_PALETTE = (
    (0, 0, 0), (0, 0, 0), (0, 0, 0), (0, 0, 0), (0, 0, 0), (111, 74, 0), (81, 0, 81), (128, 64, 128), (244, 35, 232),
    (250, 170, 160), (230, 150, 140), (70, 70, 70), (102, 102, 156), (190, 153, 153), (180, 165, 180),
    (150, 100, 100), (150, 120, 90), (153, 153, 153), (153, 153, 153), (250, 170, 30), (220, 220, 0),
    (107, 142, 35), (152, 251, 152), (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70),
    (0, 60, 100), (0, 0, 90), (0, 0, 110), (0, 80, 100), (0, 0, 230), (119, 11, 32), (0, 0, 142),
)


def tensor_to_image(image: torch.Tensor) -> np.ndarray:
    """[3, H, W] in [-1, 1] → H×W×3 uint8, truncating like the reference's ``astype(uint8)``."""
    array = (image.detach().cpu().float().numpy().transpose(1, 2, 0) + 1) / 2.0 * 255.0
    return np.clip(array, 0, 255).astype(np.uint8)


def label_colormap(n: int) -> np.ndarray:
    """``n`` RGB colours: PASCAL-VOC style bit interleaving of ``class + 1`` (Cityscapes' palette when n == 35)."""
    if n == 35:
        return np.array(CITYSCAPES_PALETTE, dtype=np.uint8)
    colours = np.zeros((n, 3), dtype=np.uint8)
    for i in range(n):
        code, r, g, b = i + 1, 0, 0, 0
        for bit in range(7):
            r |= ((code >> 0) & 1) << (7 - bit)
            g |= ((code >> 1) & 1) << (7 - bit)
            b |= ((code >> 2) & 1) << (7 - bit)
            code >>= 3
        colours[i] = (r, g, b)
    return colours


def colorize_label(label: torch.Tensor, n_colours: int) -> np.ndarray:
    """Label ids [1, H, W] (or one-hot [C, H, W], argmax'ed) → H×W×3 uint8; ids ≥ ``n_colours`` stay black.

    The reference colourises with ``label_nc + 2`` colours (docs/reference.md §7); callers pass that.
    """
    label = label.detach().cpu()
    if label.size(0) > 1:
        label = label.argmax(dim=0, keepdim=True)
    ids = label[0].numpy().astype(np.int64)
    palette = np.zeros((max(n_colours, int(ids.max()) + 1), 3), dtype=np.uint8)
    palette[:n_colours] = label_colormap(n_colours)
    return palette[ids]
