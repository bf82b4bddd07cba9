"""Load-time resizing, cropping and flipping, one draw shared by label, image and instance maps (INVENTORY §8.4)."""
import random

import numpy as np
import torch
from PIL import Image


def crop_and_flip(opt, size: tuple[int, int], rng: random.Random) -> dict:
    """Draw the crop position and flip flag for one sample.

    Args:
        opt: options; reads ``preprocess_mode``, ``load_size``, ``crop_size``.
        size: (width, height) of the sample as stored.
        rng: the sample's random generator, so resumed runs redraw the same values.
    """
    w, h = size
    new_w, new_h = w, h
    if opt.preprocess_mode == "resize_and_crop":
        new_w = new_h = opt.load_size
    elif opt.preprocess_mode == "scale_width_and_crop":
        new_w, new_h = opt.load_size, opt.load_size * h // w
    elif opt.preprocess_mode == "scale_shortside_and_crop":
        short, long = min(w, h), max(w, h)
        scaled_long = opt.load_size * long // short
        new_w, new_h = (opt.load_size, scaled_long) if w == short else (scaled_long, opt.load_size)
    x = rng.randint(0, max(0, new_w - opt.crop_size))
    y = rng.randint(0, max(0, new_h - opt.crop_size))
    return {"crop_pos": (x, y), "flip": rng.random() > 0.5}


def transform(img: Image.Image, opt, params: dict, method) -> Image.Image:
    """Apply the preprocess mode, the shared crop and the flip to one PIL picture.

    Args:
        img: the picture (label, photo or instance map).
        opt: options; reads ``preprocess_mode``, ``load_size``, ``crop_size``, ``aspect_ratio``,
            ``isTrain``, ``no_flip``.
        params: from ``crop_and_flip``.
        method: PIL resampling filter (NEAREST for maps, BICUBIC for photos).
    """
    mode = opt.preprocess_mode
    if "resize" in mode:
        img = img.resize((opt.load_size, opt.load_size), method)
    elif "scale_width" in mode:
        img = _scale_width(img, opt.load_size, method)
    elif "scale_shortside" in mode:
        img = _scale_shortside(img, opt.load_size, method)
    if "crop" in mode:
        img = _crop(img, params["crop_pos"], opt.crop_size)
    if mode == "none":
        img = _round_to_multiple(img, 32, method)
    if mode == "fixed":
        img = img.resize((opt.crop_size, round(opt.crop_size / opt.aspect_ratio)), method)
    if opt.isTrain and not opt.no_flip and params["flip"]:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return img


def _scale_width(img, width, method):
    w, h = img.size
    return img if w == width else img.resize((width, int(width * h / w)), method)


def _scale_shortside(img, short_side, method):
    w, h = img.size
    short, long = min(w, h), max(w, h)
    if short == short_side:
        return img
    long = int(short_side * long / short)
    return img.resize((short_side, long) if w == short else (long, short_side), method)


def _crop(img, position, size):
    w, h = img.size
    x, y = position
    return img.crop((x, y, x + size, y + size)) if w > size or h > size else img


def _round_to_multiple(img, base, method):
    w, h = img.size
    new_w, new_h = int(round(w / base) * base), int(round(h / base) * base)
    return img if (new_w, new_h) == (w, h) else img.resize((new_w, new_h), method)


def image_to_tensor(img: Image.Image) -> torch.Tensor:
    """RGB picture → float tensor [3, H, W] in [-1, 1]."""
    array = np.asarray(img, dtype=np.uint8)
    tensor = torch.from_numpy(array.copy()).permute(2, 0, 1).float().div(255)
    return (tensor - 0.5) / 0.5


def ids_to_tensor(img: Image.Image) -> torch.Tensor:
    """Single-channel id map → float tensor [1, H, W] of the ids (the reference keeps labels as floats)."""
    return torch.from_numpy(np.array(img).astype(np.float32))[None]
