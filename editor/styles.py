"""Styles the editor can give a generated picture, one kind per kind of run.

A style kind tells the page which controls to show (``describe``) and turns a request's query
values into extra generator inputs (``generator_inputs``). Runs without an encoder have no style;
``--use_vae`` runs take a latent code drawn from a seed; ``--norm_mode sean`` runs take one style
code per class, each from a dataset image of the strip.
"""
import torch

from editor.rejection import RejectedRequest
from editor.sample_styles import SampleStyleCodes
from models.networks.label_pyramid import label_classes

LARGEST_SEED = 2**63 - 1


class NoStyle:
    """The picture follows from the label map alone."""

    def describe(self) -> dict:
        return {"kind": "none"}

    def generator_inputs(self, query: dict) -> dict:
        return {}


class RandomLatentStyle:
    """``--use_vae``: the latent code is drawn from N(0, I) with the request's ``seed``, so a seed names a style.

    Args:
        z_dim: the length of the code (``--z_dim``).
        device: where the generator runs.
    """

    def __init__(self, z_dim: int, device: str):
        self.z_dim, self.device = z_dim, device

    def describe(self) -> dict:
        return {"kind": "latent", "z_dim": self.z_dim}

    def generator_inputs(self, query: dict) -> dict:
        seed = parse_seed(query.get("seed", "0"))
        code = torch.randn(1, self.z_dim, generator=torch.Generator().manual_seed(seed))
        return {"z": code.to(self.device)}


class RegionStyle:
    """``--norm_mode sean``: the request's ``styles`` lists, class by class, the strip image whose style code
    that class takes (``styles=3,3,7,...``: one index per class); without it every class takes its fallback.

    Args:
        codes: the ``SampleStyleCodes`` of the strip's images.
        sample_count: how many images the strip holds.
        device: where the generator runs.
    """

    def __init__(self, codes: SampleStyleCodes, sample_count: int, device: str):
        self.codes, self.sample_count, self.device = codes, sample_count, device

    def describe(self) -> dict:
        return {"kind": "regions", "classes": self.codes.classes}

    def generator_inputs(self, query: dict) -> dict:
        sources = parse_sources(query.get("styles", ""), self.codes.classes, self.sample_count)
        return {"style_codes": self.codes.combined(sources)[None].to(self.device)}


def parse_sources(text: str, classes: int, sample_count: int) -> list[int]:
    """Strip indices, one a class, from a comma-separated query value ("" gives none)."""
    if not text:
        return []
    parts = text.split(",")
    if len(parts) != classes or not all(p.isdigit() and int(p) < sample_count for p in parts):
        raise RejectedRequest(422, f"styles '{text[:80]}' is not {classes} comma-separated image numbers from 0 to "
                                   f"{sample_count - 1}; send one strip image a class.")
    return [int(p) for p in parts]


def parse_seed(text: str) -> int:
    """A seed from a query string: a whole number from 0 to 2**63 - 1."""
    if not text.isdigit() or int(text) > LARGEST_SEED:
        raise RejectedRequest(422, f"seed '{text}' is not a whole number from 0 to {LARGEST_SEED}; type such a number.")
    return int(text)


def style_for(opt, model=None, samples=None):
    """The style kind of a run; reads ``use_vae``, ``z_dim``, ``norm_mode``, ``device``. A SEAN run needs its
    ``Pix2PixModel`` and the strip's ``DatasetLabels`` (the images that give styles)."""
    if opt.norm_mode == "sean":
        codes = SampleStyleCodes(opt, model, samples, label_classes(opt))
        return RegionStyle(codes, samples.count, opt.device)
    if opt.use_vae:
        return RandomLatentStyle(opt.z_dim, opt.device)
    return NoStyle()
