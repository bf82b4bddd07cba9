"""The semantic map at each resolution a generator needs, resized once per forward pass.

Every conditional norm of a generator resizes the same label map to its own resolution, and
several norms share a resolution (three per residual block). A ``LabelPyramid`` built at the
start of the forward pass keeps each resized map, its class-index map, its per-class masks, the
list of classes present and the pixels near region edges, so the work is done once per resolution
instead of once per layer.
"""
from typing import NamedTuple

import torch
import torch.nn.functional as F


class EdgeTaps(NamedTuple):
    """Pixels near a region edge and their 3×3 neighbourhoods, as flat indices into [B·h·w].

    Attributes:
        edge: the pixels near an edge [n].
        neighbours: each one's nine neighbours, row-major over the window [n·9], clamped into the picture.
        outside: (pixel, neighbour) positions [k], [k] of the neighbours that lie outside the picture.
    """

    edge: torch.Tensor
    neighbours: torch.Tensor
    outside: tuple[torch.Tensor, torch.Tensor]


class LabelPyramid:
    """Nearest-neighbour resized copies of one semantic map, cached by size.

    Args:
        semantics: the full-resolution semantic map [B, S, H, W] (one-hot classes, then an optional
            instance-edge channel).
        classes: how many leading channels are classes (``label_nc`` plus the dontcare class).
    """

    def __init__(self, semantics: torch.Tensor, classes: int):
        self.semantics = semantics
        self.classes = classes
        self._maps: dict[tuple[int, int], torch.Tensor] = {}
        self._present: dict[tuple[int, int], list[int]] = {}
        self._present_masks: dict[tuple[int, int], tuple[list[int], torch.Tensor]] = {}
        self._class_index: dict[tuple[int, int], torch.Tensor] = {}
        self._edge_taps: dict[tuple[int, int], EdgeTaps] = {}

    def at(self, size) -> torch.Tensor:
        """The semantic map resized to ``size`` (h, w) with nearest-neighbour sampling."""
        size = tuple(int(s) for s in size)
        if size not in self._maps:
            self._maps[size] = (self.semantics if tuple(self.semantics.shape[2:]) == size
                                else F.interpolate(self.semantics, size=size, mode="nearest"))
        return self._maps[size]

    def class_masks(self, size) -> torch.Tensor:
        """The per-class masks [B, classes, h, w] at ``size`` (the instance-edge channel left out)."""
        return self.at(size)[:, :self.classes]

    def class_index(self, size) -> torch.Tensor:
        """The class of each pixel [B, h, w] (long) at ``size``: the argmax of the class masks there.

        Taken once at full resolution and then resized: nearest-neighbour resizing picks pixels,
        so it commutes with the per-pixel argmax, and one index channel is cheaper to resize than all masks.
        """
        size = tuple(int(s) for s in size)
        if size not in self._class_index:
            full = tuple(self.semantics.shape[2:])
            if size == full:
                self._class_index[size] = self.class_masks(full).argmax(dim=1)
            else:
                index = self.class_index(full).unsqueeze(1).to(torch.float32)
                self._class_index[size] = F.interpolate(index, size=size, mode="nearest").squeeze(1).long()
        return self._class_index[size]

    def region_edge_taps(self, size) -> "EdgeTaps":
        """The pixels near a region edge at ``size`` and where their 3×3 neighbours lie.

        A pixel is inside a region when the 5×5 window around it holds one class and lies inside
        the picture; every other pixel is near an edge.
        """
        size = tuple(int(s) for s in size)
        if size not in self._edge_taps:
            self._edge_taps[size] = _edge_taps(self.class_index(size), size)
        return self._edge_taps[size]

    def present_masks(self, size) -> tuple[list[int], torch.Tensor]:
        """The classes present at ``size`` and their masks [B, len(present), h, w]."""
        size = tuple(int(s) for s in size)
        if size not in self._present_masks:
            present = self.present_classes(size)
            self._present_masks[size] = (present, self.class_masks(size)[:, present])
        return self._present_masks[size]

    def present_classes(self, size) -> list[int]:
        """Classes that cover at least one pixel of at least one image at ``size``."""
        size = tuple(int(s) for s in size)
        if size not in self._present:
            covered = self.class_masks(size).detach().amax(dim=(0, 2, 3)) > 0
            self._present[size] = torch.nonzero(covered).flatten().tolist()
        return self._present[size]


def label_classes(opt) -> int:
    """Channels of the one-hot class map: ``--label_nc`` plus the dontcare class (the instance edges excluded)."""
    return opt.label_nc + (1 if opt.contain_dontcare_label else 0)


def _edge_taps(class_index: torch.Tensor, size: tuple[int, int]) -> EdgeTaps:
    """The ``EdgeTaps`` of a class-index map [B, h, w]: a pixel is inside a region when its 5×5 window is 2 pixels
    from every border and its highest and lowest class agree."""
    classes = class_index.unsqueeze(1).to(torch.float32)
    inside = F.max_pool2d(classes, 5, stride=1, padding=2) == -F.max_pool2d(-classes, 5, stride=1, padding=2)
    inside[..., :2, :] = False
    inside[..., -2:, :] = False
    inside[..., :, :2] = False
    inside[..., :, -2:] = False
    edge = torch.nonzero(~inside.flatten()).flatten()
    h, w = size
    offsets = torch.arange(-1, 2, device=edge.device)
    rows = (edge % (h * w) // w).unsqueeze(1) + offsets.repeat_interleave(3)
    columns = (edge % w).unsqueeze(1) + offsets.repeat(3)
    outside = (rows < 0) | (rows >= h) | (columns < 0) | (columns >= w)
    neighbours = (edge // (h * w) * (h * w)).unsqueeze(1) + rows.clamp(0, h - 1) * w + columns.clamp(0, w - 1)
    return EdgeTaps(edge, neighbours.flatten(), tuple(torch.nonzero(outside).t()))
