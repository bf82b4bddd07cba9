"""Styles the editor can give a generated picture, one kind per kind of run.

A style kind tells the page which controls to show (``describe``) and turns a request's query
values into extra generator inputs (``generator_inputs``). Runs without an encoder have no style;
``--use_vae`` runs take a latent code drawn from a seed. A kind with per-region style codes (SEAN)
adds itself to ``style_for`` in the same way.
"""
import torch

from editor.rejection import RejectedRequest

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


def parse_seed(text: str) -> int:
    """A seed from a query string: a whole number from 0 to 2**63 - 1."""
    if not text.isdigit() or int(text) > LARGEST_SEED:
        raise RejectedRequest(422, f"seed '{text}' is not a whole number from 0 to {LARGEST_SEED}; type such a number.")
    return int(text)


def style_for(opt):
    """The style kind of a run; reads ``use_vae``, ``z_dim``, ``device``."""
    if opt.use_vae:
        return RandomLatentStyle(opt.z_dim, opt.device)
    return NoStyle()
