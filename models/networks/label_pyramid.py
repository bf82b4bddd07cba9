"""The semantic map at each resolution a generator needs, resized once per forward pass.

Every conditional norm of a generator resizes the same label map to its own resolution, and
several norms share a resolution (three per residual block). A ``LabelPyramid`` built at the
start of the forward pass keeps each resized map, its class-index map, its per-class masks, the
list of classes present, the classes around each pixel, the pixels near region edges and the
distinct 3×3 class windows, so the work is done once per resolution instead of once per layer.
"""
from typing import NamedTuple

import torch
import torch.nn.functional as F


class EdgeWindows(NamedTuple):
    """The 3×3 class windows that a 3×3 convolution of a 3×3 convolution of a one-hot map reads near region edges.

    A pixel is near an edge when its 5×5 window holds two classes or reaches past the picture's
    border; elsewhere both convolutions give its class's vector. Pixels are flat indices into
    [B·h·w], and the nine taps of a window run row-major.

    Attributes:
        edge: the pixels near an edge [n].
        windows: the distinct 3×3 windows of the map [u, 9], each tap as ``tap · classes + class of
            the tap's pixel``, or ``9 · classes`` for a tap outside the picture.
        edge_taps: each edge pixel's neighbours as ``window · 9 + tap``, where ``window`` is the row of
            ``windows`` centred on that neighbour, or ``u`` for a neighbour outside the picture [n, 9].
    """

    edge: torch.Tensor
    windows: torch.Tensor
    edge_taps: torch.Tensor


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
        self._edge_windows: dict[tuple[int, int], EdgeWindows] = {}
        self._present_class_taps: dict[tuple[int, int], torch.Tensor] = {}

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

    def edge_windows(self, size) -> EdgeWindows:
        """The pixels near a region edge at ``size`` and the class windows around their neighbours."""
        size = tuple(int(s) for s in size)
        if size not in self._edge_windows:
            self._edge_windows[size] = _edge_windows(self.class_index(size), self.classes)
        return self._edge_windows[size]

    def present_class_taps(self, size) -> torch.Tensor:
        """The 3×3 neighbours of every pixel at ``size`` [B·h·w, 9] as rows of a table laid out
        [image, present class, tap]: ``(b · P + place of the class among the present ones) · 9 + tap``,
        or ``B · P · 9`` for a neighbour outside the picture."""
        size = tuple(int(s) for s in size)
        if size not in self._present_class_taps:
            class_index = self.class_index(size)
            present = self.present_classes(size)
            b, h, w = class_index.shape
            place = torch.full((self.classes + 1,), b * len(present), dtype=torch.long, device=class_index.device)
            place[present] = torch.arange(len(present), device=class_index.device)
            image = torch.arange(b, device=class_index.device).repeat_interleave(h * w).unsqueeze(1) * len(present)
            taps = _class_taps(class_index, self.classes)
            rows = (place[taps] + image) * 9 + torch.arange(9, device=class_index.device)
            self._present_class_taps[size] = rows.masked_fill_(taps == self.classes, b * len(present) * 9)
        return self._present_class_taps[size]

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


def _class_taps(class_index: torch.Tensor, classes: int) -> torch.Tensor:
    """The classes of each pixel's 3×3 neighbours [B·h·w, 9], row-major, ``classes`` for one outside the picture."""
    h, w = class_index.shape[1:]
    padded = F.pad(class_index, (1, 1, 1, 1), value=classes)
    return torch.stack([padded[:, row:row + h, column:column + w] for row in range(3) for column in range(3)],
                       dim=-1).view(-1, 9)


def _edge_windows(class_index: torch.Tensor, classes: int) -> EdgeWindows:
    """The ``EdgeWindows`` of a class-index map [B, h, w]."""
    h, w = class_index.shape[1:]
    digits = _class_taps(class_index, classes)
    distinct, window_of_pixel = _distinct_rows(digits, base=classes + 1)
    taps = torch.arange(9, device=class_index.device)
    windows = (distinct + taps * classes).masked_fill_(distinct == classes, 9 * classes)
    edge = torch.nonzero(_near_region_edges(class_index).flatten()).flatten()
    neighbours, outside = _window(edge, (h, w))
    edge_taps = window_of_pixel[neighbours].masked_fill_(outside, len(distinct)) * 9 + taps
    return EdgeWindows(edge, windows, edge_taps)


def _distinct_rows(digits: torch.Tensor, base: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The distinct rows of ``digits`` [N, k] (each entry below ``base``) and each row's place among them.

    Rows are read as base-``base`` numbers where those fit in 64 bits: sorting numbers is much
    faster than sorting rows.
    """
    places = digits.size(1)
    if base ** places >= 2 ** 63:
        return torch.unique(digits, dim=0, return_inverse=True)
    powers = torch.tensor([base ** p for p in reversed(range(places))], device=digits.device)
    numbers, place = torch.unique((digits * powers).sum(dim=1), return_inverse=True)
    return numbers.unsqueeze(1) // powers % base, place


def _near_region_edges(class_index: torch.Tensor) -> torch.Tensor:
    """Pixels [B, 1, h, w] whose 5×5 window holds two classes or reaches past the picture's border."""
    ids = class_index.unsqueeze(1).to(torch.float32)
    near = F.max_pool2d(ids, 5, stride=1, padding=2) != -F.max_pool2d(-ids, 5, stride=1, padding=2)
    near[..., :2, :] = True
    near[..., -2:, :] = True
    near[..., :, :2] = True
    near[..., :, -2:] = True
    return near


def _window(pixels: torch.Tensor, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """The 3×3 neighbours [n, 9] of flat ``pixels``, clamped into the picture, and which of them lie outside it."""
    h, w = size
    offsets = torch.arange(-1, 2, device=pixels.device)
    rows = (pixels % (h * w) // w).unsqueeze(1) + offsets.repeat_interleave(3)
    columns = (pixels % w).unsqueeze(1) + offsets.repeat(3)
    outside = (rows < 0) | (rows >= h) | (columns < 0) | (columns >= w)
    neighbours = (pixels // (h * w) * (h * w)).unsqueeze(1) + rows.clamp(0, h - 1) * w + columns.clamp(0, w - 1)
    return neighbours, outside
