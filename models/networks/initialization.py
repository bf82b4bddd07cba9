"""The reference's weight initialisation (docs/reference.md §2.8)."""
import torch.nn as nn
from torch.nn import init

INIT_TYPES = ("normal", "xavier", "xavier_uniform", "kaiming", "orthogonal", "none")


def init_weights(network: nn.Module, init_type: str = "xavier", gain: float = 0.02) -> None:
    """Initialise every conv/linear weight (and affine batch-norm scale) in place; biases to zero.

    Spectral-normed convs keep their weight in ``weight_orig``; that is the tensor initialised.
    Raw parameters such as CLADE's class-affine tables are left as their constructors made them.

    Args:
        network: the network to initialise.
        init_type: one of ``INIT_TYPES`` (``--init_type``).
        gain: std or gain of the init (``--init_variance``).
    """
    for module in network.modules():
        if isinstance(module, (nn.BatchNorm2d, nn.SyncBatchNorm)):
            if module.weight is not None:
                init.normal_(module.weight, 1.0, gain)
            if module.bias is not None:
                init.constant_(module.bias, 0.0)
        elif isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            _init_weight(module, init_type, gain)
            if getattr(module, "bias", None) is not None:
                init.constant_(module.bias, 0.0)


def _init_weight(module: nn.Module, init_type: str, gain: float) -> None:
    # a spectral conv's ``weight`` is computed from ``weight_orig``; reading it would run a power iteration
    weight = module.weight_orig if hasattr(module, "weight_orig") else module.weight
    if init_type == "normal":
        init.normal_(weight, 0.0, gain)
    elif init_type == "xavier":
        init.xavier_normal_(weight, gain=gain)
    elif init_type == "xavier_uniform":
        init.xavier_uniform_(weight, gain=1.0)
    elif init_type == "kaiming":
        init.kaiming_normal_(weight, a=0, mode="fan_in")
    elif init_type == "orthogonal":
        init.orthogonal_(weight, gain=gain)
    elif init_type == "none":
        module.reset_parameters()
