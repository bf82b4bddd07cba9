"""Normalization building blocks shared by the generator, discriminator and encoder.

Two families exist in the reference code bases (INVENTORY §2.3, §2.6):
* the parameter-free norm inside SPADE/CLADE, named by a config string such as
  ``spadesyncbatch3x3`` (norm kind, then kernel size of the modulation convs);
* "non-SPADE" norms wrapped around a conv, named such as ``spectralinstance``.
"""
import re

import torch.nn as nn

from models.networks.spectral_norm import to_spectral
from util.errors import UserError

PARAMETER_FREE_NORMS = ("instance", "batch", "syncbatch")


def parse_spade_config(config_text: str, flag: str = "--norm_G") -> tuple[str, int]:
    """Split a SPADE/CLADE norm config such as ``spadesyncbatch3x3`` into ``('syncbatch', 3)``.

    Args:
        config_text: the norm string without the ``spectral`` prefix.
        flag: the flag the string came from, for the error message.
    """
    match = re.fullmatch(r"spade(\D+)(\d)x\d", config_text)
    if match is None or match.group(1) not in PARAMETER_FREE_NORMS:
        raise UserError(
            f"{flag} value '{config_text}' is not of the form [spectral]spade<norm><k>x<k> with <norm> one of "
            f"{', '.join(PARAMETER_FREE_NORMS)}; use e.g. spectralspadesyncbatch3x3."
        )
    return match.group(1), int(match.group(2))


def parameter_free_norm(kind: str, channels: int) -> nn.Module:
    """Normalization without learned affine parameters (the affine comes from the label map).

    ``syncbatch`` is ``nn.SyncBatchNorm``: it synchronises statistics under
    DistributedDataParallel and behaves as plain batch norm in a single process.
    """
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False)
    if kind == "syncbatch":
        return nn.SyncBatchNorm(channels, affine=False)
    if kind == "batch":
        return nn.BatchNorm2d(channels, affine=False)
    raise UserError(f"unknown parameter-free norm '{kind}'; use one of {', '.join(PARAMETER_FREE_NORMS)}.")


def _affine_norm(kind: str, channels: int, flag: str) -> nn.Module:
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False)
    if kind == "batch":
        return nn.BatchNorm2d(channels, affine=True)
    if kind in ("sync_batch", "syncbatch"):
        return nn.SyncBatchNorm(channels, affine=True)
    raise UserError(
        f"{flag}: unknown norm '{kind}'; use [spectral]instance, [spectral]batch, [spectral]sync_batch or [spectral]none."
    )


def normalized_layer(layer: nn.Module, norm_type: str, flag: str) -> nn.Module:
    """Wrap a conv in spectral norm and/or follow it by a norm, as a ``--norm_D``/``--norm_E`` string says.

    ``spectralinstance`` gives ``Sequential(spectral_norm(conv), InstanceNorm2d)``; the conv bias is
    dropped whenever a norm follows (it would be cancelled). Unlike the reference, strings without
    the ``spectral`` prefix work too (INVENTORY §12.10).

    Args:
        layer: a freshly built conv.
        norm_type: e.g. ``spectralinstance``, ``instance``, ``spectralnone``, ``batch``.
        flag: the flag the string came from, for error messages.
    """
    subnorm = norm_type
    if norm_type.startswith("spectral"):
        layer = to_spectral(layer)
        subnorm = norm_type[len("spectral"):]
    if subnorm in ("none", ""):
        return layer
    norm = _affine_norm(subnorm, layer.out_channels, flag)
    if getattr(layer, "bias", None) is not None:
        delattr(layer, "bias")
        layer.register_parameter("bias", None)
    return nn.Sequential(layer, norm)
