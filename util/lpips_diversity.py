"""LPIPS diversity: how different the pictures of one label map are when only the random style changes.

LPIPS is the `lpips` package (Zhang et al.'s own release, v0.1, AlexNet trunk: the variant
BicycleGAN, SMIS and OASIS report). Its calibrated linear layers ship inside the package; the
AlexNet trunk is torchvision's ImageNet AlexNet, which `lpips` would download, so we build the
trunk empty and load torchvision's weight file from the torch hub cache or from a given path.
"""
import itertools
import warnings
from pathlib import Path

import torch
import torchvision

from util.errors import UserError

ALEXNET_URL = torchvision.models.AlexNet_Weights.IMAGENET1K_V1.url
ALEXNET_FILE_NAME = ALEXNET_URL.rsplit("/", 1)[1]


def cached_alexnet_path() -> Path:
    """Where torch hub keeps (or would keep) torchvision's AlexNet weights."""
    return Path(torch.hub.get_dir()) / "checkpoints" / ALEXNET_FILE_NAME


def alexnet_weights_path(weights=None) -> Path:
    """The AlexNet weight file LPIPS will read: ``weights`` or the cached file; a missing file stops here.

    Args:
        weights (str or Path or None): a local ``alexnet-owt-7be5be79.pth``; None takes torch hub's cache.
    """
    path = Path(weights) if weights else cached_alexnet_path()
    if not path.is_file():
        raise UserError(f"LPIPS needs torchvision's AlexNet weights {ALEXNET_FILE_NAME}, not found at {path}; "
                        f"download {ALEXNET_URL} to {cached_alexnet_path()} or pass --lpips_weights PATH.")
    return path


def load_lpips(weights=None, device="cpu") -> torch.nn.Module:
    """``lpips.LPIPS(net='alex')`` with its trunk loaded strictly from torchvision's AlexNet file, in eval mode.

    Args:
        weights (str or Path or None): as ``alexnet_weights_path``.
        device (str or torch.device): where the model runs.
    """
    import lpips

    path = alexnet_weights_path(weights)
    with warnings.catch_warnings():  # lpips passes torchvision the deprecated `pretrained` flag
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False)
    try:
        alexnet = torch.load(path, map_location="cpu", weights_only=True)
        model.net.load_state_dict(_as_lpips_trunk_keys(model.net, alexnet), strict=True)
    except Exception as error:  # torch.load and a wrong file raise many kinds
        raise UserError(f"{path} does not hold torchvision's AlexNet weights ({error}); use {ALEXNET_FILE_NAME} "
                        f"from {ALEXNET_URL}.") from None
    return model.eval().to(device)


def _as_lpips_trunk_keys(trunk: torch.nn.Module, alexnet_state: dict) -> dict:
    """torchvision's ``features.<i>.*`` keys renamed to the LPIPS trunk's ``slice<k>.<i>.*`` (the classifier is unused)."""
    slice_of_layer = {int(index): name for name, block in trunk.named_children() for index, _ in block.named_children()}
    renamed = {}
    for key, value in alexnet_state.items():
        part, index, rest = key.split(".", 2)
        if part == "features":
            renamed[f"{slice_of_layer[int(index)]}.{index}.{rest}"] = value
    return renamed


@torch.no_grad()
def mean_pairwise_lpips(model: torch.nn.Module, pictures: torch.Tensor) -> float:
    """Mean LPIPS distance over all pairs of pictures of one label map.

    Args:
        model: from ``load_lpips``.
        pictures (torch.Tensor): K×3×H×W in [-1, 1], K ≥ 2, generated from one label map.
    """
    if pictures.size(0) < 2:
        raise ValueError("diversity needs at least two pictures per label map")
    pairs = list(itertools.combinations(range(pictures.size(0)), 2))
    first = pictures[[a for a, _ in pairs]]
    second = pictures[[b for _, b in pairs]]
    device = next(model.parameters()).device
    return float(model(first.to(device), second.to(device)).mean())
