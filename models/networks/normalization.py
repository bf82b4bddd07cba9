"""Normalization building blocks shared by the generator, discriminator and encoder.

Two families exist in the reference code bases (docs/reference.md §2.3, §2.6):
* the parameter-free norm inside SPADE/CLADE, named by a config string such as
  ``spadesyncbatch3x3`` (norm kind, then kernel size of the modulation convs);
* "non-SPADE" norms wrapped around a conv, named such as ``spectralinstance``.
"""
import re

import torch
import torch.distributed as dist
import torch.nn as nn

from models.networks.spectral_norm import to_spectral
from util.distributed import all_reduce
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


class _AllReduceSum(torch.autograd.Function):
    """Sum over processes; the gradient of a sum is the sum of the gradients over processes."""

    @staticmethod
    def forward(ctx, tensor):
        return all_reduce(tensor)

    @staticmethod
    def backward(ctx, grad):
        return all_reduce(grad)


class GlooSyncBatchNorm(nn.BatchNorm2d):
    """Batch norm whose statistics are summed over all processes of a CPU (gloo) process group.

    PyTorch's ``nn.SyncBatchNorm`` only synchronises on GPUs and DistributedDataParallel refuses
    it on the CPU, so CPU runs swap it for this (``replace_batch_norms``); the state_dict keys
    are those of any batch norm. As every batch norm of PyTorch, it computes in fp32 under
    autocast (sums of squares in bf16 lose most of their digits) and returns the input's dtype.
    """

    def forward(self, x):
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        with torch.autocast(x.device.type, enabled=False):
            return self._synchronised(x.float()).to(x.dtype)

    def _synchronised(self, x):
        count = torch.tensor([x.numel() / x.size(1)], dtype=x.dtype)
        moments = _AllReduceSum.apply(torch.cat((x.sum(dim=(0, 2, 3)), (x * x).sum(dim=(0, 2, 3)), count)))
        channels, total = x.size(1), moments[-1]
        mean = moments[:channels] / total
        var = moments[channels:2 * channels] / total - mean * mean
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.mul_(1 - momentum).add_(momentum * mean)
                self.running_var.mul_(1 - momentum).add_(momentum * var * total / (total - 1))
        out = (x - mean.view(1, -1, 1, 1)) * torch.rsqrt(var.view(1, -1, 1, 1) + self.eps)
        if self.affine:
            out = out * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)
        return out


def replace_batch_norms(network: nn.Module, source: type, target: type) -> nn.Module:
    """Swap every ``source`` batch norm of ``network`` for a ``target`` one with the same state (and keys).

    Used for ``nn.SyncBatchNorm`` → ``GlooSyncBatchNorm`` under CPU DistributedDataParallel, and
    → ``nn.BatchNorm2d`` for copies that one process runs alone (rank 0's averaged generator),
    where a synchronising norm would wait forever for the others.
    """
    for name, child in network.named_children():
        if isinstance(child, source) and type(child) is not target:
            replacement = target(child.num_features, child.eps, child.momentum, child.affine, child.track_running_stats)
            replacement.load_state_dict(child.state_dict())
            setattr(network, name, replacement.to(next(iter(child.state_dict().values())).device))
        else:
            replace_batch_norms(child, source, target)
    return network


def parameter_free_norm(kind: str, channels: int) -> nn.Module:
    """Normalization without learned affine parameters (the affine comes from the label map).

    ``syncbatch`` is ``nn.SyncBatchNorm``: statistics synchronised across DistributedDataParallel
    processes, plain batch norm in a single process.
    """
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False)
    if kind == "syncbatch":
        return nn.SyncBatchNorm(channels, affine=False)
    if kind == "batch":
        return nn.BatchNorm2d(channels, affine=False)
    raise UserError(f"unknown parameter-free norm '{kind}'; use one of {', '.join(PARAMETER_FREE_NORMS)}.")


def uses_running_statistics(norm: nn.Module) -> bool:
    """Whether ``norm`` normalizes with its stored statistics (a batch norm in eval mode): a fixed per-channel affine."""
    return isinstance(norm, nn.modules.batchnorm._BatchNorm) and not norm.training and norm.track_running_stats


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
    the ``spectral`` prefix work too (docs/reference.md §12.10).

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
