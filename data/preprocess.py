"""Load-time resizing, cropping and flipping, one draw shared by label, image, instance and positional maps.

The geometry of a sample (target size, crop box, mirror) is computed once by ``sample_geometry``
and applied by ``transform`` to PIL pictures and by ``transform_tensor`` to float maps, so that
every map of a sample stays aligned (docs/reference.md §8.4).
"""
import random
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

# ``--preprocess_mode none`` rounds both sides to a multiple of this (the generator's total stride).
NONE_MODE_MULTIPLE = 32


@dataclass(frozen=True)
class Geometry:
    """What preprocessing does to one sample, in order: resize, crop, mirror.

    Attributes:
        resize_to: (width, height) to resize to, or None to keep the stored size.
        crop_box: (left, top, right, bottom) in the resized picture, or None; parts outside the
            picture come out as zeros (PIL's behaviour).
        flip: mirror left-right.
    """
    resize_to: tuple[int, int] | None
    crop_box: tuple[int, int, int, int] | None
    flip: bool


def crop_and_flip(opt, size: tuple[int, int], rng: random.Random) -> dict:
    """Draw the crop position and flip flag for one sample.

    Args:
        opt: options; reads ``preprocess_mode``, ``load_size``, ``crop_size``, ``aspect_ratio``.
        size: (width, height) of the sample as stored.
        rng: the sample's random generator, so resumed runs redraw the same values.
    """
    # modes without a crop draw from the stored size, as the reference's get_params does (docs/reference.md §8.4)
    new_w, new_h = resized_size(opt, size) if "crop" in opt.preprocess_mode else size
    x = rng.randint(0, max(0, new_w - opt.crop_size))
    y = rng.randint(0, max(0, new_h - opt.crop_size))
    return {"crop_pos": (x, y), "flip": rng.random() > 0.5}


def resized_size(opt, size: tuple[int, int]) -> tuple[int, int]:
    """(width, height) after the resize step of ``--preprocess_mode``, before any crop.

    Args:
        opt: options; reads ``preprocess_mode``, ``load_size``, ``crop_size``, ``aspect_ratio``.
        size: (width, height) of the sample as stored.
    """
    w, h = size
    mode, load = opt.preprocess_mode, opt.load_size
    if "resize" in mode:
        return load, load
    if "scale_width" in mode:
        return load, load * h // w
    if "scale_shortside" in mode:
        scaled_long = load * max(w, h) // min(w, h)
        return (load, scaled_long) if w <= h else (scaled_long, load)
    if mode == "fixed":
        return opt.crop_size, round(opt.crop_size / opt.aspect_ratio)
    if mode == "none":
        return tuple(int(round(side / NONE_MODE_MULTIPLE) * NONE_MODE_MULTIPLE) for side in size)
    return w, h


def sample_geometry(opt, size: tuple[int, int], params: dict) -> Geometry:
    """The resize, crop and flip of one sample.

    Args:
        opt: options; reads ``preprocess_mode``, ``load_size``, ``crop_size``, ``aspect_ratio``,
            ``isTrain``, ``no_flip``.
        size: (width, height) of the sample as stored.
        params: from ``crop_and_flip``.
    """
    new_size = resized_size(opt, size)
    crop_box = None
    if "crop" in opt.preprocess_mode and (new_size[0] > opt.crop_size or new_size[1] > opt.crop_size):
        x, y = params["crop_pos"]
        crop_box = (x, y, x + opt.crop_size, y + opt.crop_size)
    flip = opt.isTrain and not opt.no_flip and params["flip"]
    return Geometry(resize_to=None if new_size == tuple(size) else new_size, crop_box=crop_box, flip=flip)


def transform(img: Image.Image, opt, params: dict, method) -> Image.Image:
    """Apply the sample's geometry to one PIL picture.

    Args:
        img: the picture (label, photo or instance map).
        opt: options, as for ``sample_geometry``.
        params: from ``crop_and_flip``.
        method: PIL resampling filter (NEAREST for maps, BICUBIC for photos).
    """
    geometry = sample_geometry(opt, img.size, params)
    if geometry.resize_to is not None:
        img = img.resize(geometry.resize_to, method)
    if geometry.crop_box is not None:
        img = img.crop(geometry.crop_box)
    if geometry.flip:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return img


def transform_tensor(tensor: torch.Tensor, opt, params: dict, mirror, nearest=None) -> torch.Tensor:
    """Apply the sample's geometry to a float map [C, H, W] stored at the sample's size.

    Resizing is nearest-neighbour and by default picks exactly the pixels PIL's NEAREST picks for
    the label, so the map stays aligned with the label's parts (torch's 'nearest' mode picks the
    pixel up to one source pixel before it: ``torch_nearest_indices``, what CLADE's code does).

    Args:
        tensor: [C, H, W] map of the sample as stored.
        opt: options, as for ``sample_geometry``.
        params: from ``crop_and_flip``.
        mirror: function returning the left-right mirrored map (positional maps also negate
            their column offsets: ``flip_offsets_horizontally``).
        nearest: ``(length, new_length) → source index per output pixel``; default
            ``pil_nearest_indices``.
    """
    nearest = nearest or pil_nearest_indices
    height, width = tensor.shape[-2:]
    geometry = sample_geometry(opt, (width, height), params)
    if geometry.resize_to is not None:
        new_width, new_height = geometry.resize_to
        tensor = tensor.index_select(-2, nearest(height, new_height))
        tensor = tensor.index_select(-1, nearest(width, new_width))
    if geometry.crop_box is not None:
        tensor = _crop_zero_padded(tensor, geometry.crop_box)
    if geometry.flip:
        tensor = mirror(tensor)
    return tensor


@lru_cache(maxsize=64)
def pil_nearest_indices(length: int, new_length: int) -> torch.Tensor:
    """Source index of every output pixel of PIL's NEAREST resize along one axis (it is separable)."""
    ramp = Image.fromarray(np.arange(length, dtype=np.int32)[None, :])
    return torch.from_numpy(np.asarray(ramp.resize((new_length, 1), Image.NEAREST))[0].astype(np.int64))


@lru_cache(maxsize=64)
def torch_nearest_indices(length: int, new_length: int) -> torch.Tensor:
    """Source index of every output pixel of ``F.interpolate(mode='nearest')`` along one axis."""
    ramp = torch.arange(length, dtype=torch.float64).view(1, 1, length)
    return F.interpolate(ramp, size=new_length, mode="nearest").view(-1).long()


def _crop_zero_padded(tensor: torch.Tensor, box: tuple[int, int, int, int]) -> torch.Tensor:
    left, top, right, bottom = box
    height, width = tensor.shape[-2:]
    out = tensor.new_zeros((*tensor.shape[:-2], bottom - top, right - left))
    inside_h, inside_w = min(bottom, height) - top, min(right, width) - left
    out[..., :inside_h, :inside_w] = tensor[..., top:top + inside_h, left:left + inside_w]
    return out


def image_to_tensor(img: Image.Image) -> torch.Tensor:
    """RGB picture → float tensor [3, H, W] in [-1, 1]."""
    array = np.asarray(img, dtype=np.uint8)
    tensor = torch.from_numpy(array.copy()).permute(2, 0, 1).float().div(255)
    return (tensor - 0.5) / 0.5


def ids_to_tensor(img: Image.Image) -> torch.Tensor:
    """Single-channel id map → float tensor [1, H, W] of the ids (the reference keeps labels as floats)."""
    return torch.from_numpy(np.array(img).astype(np.float32))[None]
