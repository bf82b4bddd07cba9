"""The VGG19 perceptual loss (docs/reference.md §4.2) on torchvision's ImageNet VGG19."""
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from util.errors import UserError

VGG19_FILE = "vgg19-dcbb9e9d.pth"
VGG19_URL = f"https://download.pytorch.org/models/{VGG19_FILE}"
# relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 and their weights
SLICE_ENDS = (2, 7, 12, 21, 30)
SLICE_WEIGHTS = (1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg19_features(weights_path: str | None = None) -> nn.Sequential:
    """VGG19's convolutional layers up to relu5_1 with ImageNet weights, frozen.

    Args:
        weights_path: a local file holding torchvision's ``vgg19`` state_dict (or only its
            ``features.*`` entries); by default torchvision's cache, downloading when possible.
    """
    path = Path(weights_path) if weights_path else Path(torch.hub.get_dir()) / "checkpoints" / VGG19_FILE
    if weights_path and not path.is_file():
        raise UserError(f"--vgg_weights file {path} does not exist; give the path of {VGG19_FILE} "
                        f"(from {VGG19_URL}).")
    if not path.is_file():
        _download(path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    features = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    import torchvision  # only runs with the VGG loss need it; it takes seconds to import

    model = torchvision.models.vgg19(weights=None).features[:SLICE_ENDS[-1]]
    try:
        model.load_state_dict({k: v for k, v in features.items() if int(k.split(".")[0]) < SLICE_ENDS[-1]})
    except RuntimeError:
        raise UserError(f"{path} is not a VGG19 state_dict; download {VGG19_URL} again.")
    return model.eval().requires_grad_(False)


def _download(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(VGG19_URL, str(path), progress=True)
    except Exception:
        raise UserError(f"the VGG19 weights for the VGG loss could not be downloaded: put {VGG19_FILE} "
                        f"(from {VGG19_URL}) at {path}, or pass --vgg_weights PATH to a local copy, "
                        f"or train with --no_vgg_loss.")


class VGGLoss(nn.Module):
    """Weighted L1 between VGG19 features of the fake and the real image.

    Args:
        weights_path: see ``vgg19_features``.
        imagenet_normalize: feed VGG ImageNet-normalised inputs; the reference feeds [-1, 1]
            images as they are (docs/reference.md §12.12), which stays the default so its loss scale holds.
    """

    def __init__(self, weights_path: str | None = None, imagenet_normalize: bool = False):
        super().__init__()
        features = vgg19_features(weights_path)
        starts = (0,) + SLICE_ENDS[:-1]
        self.slices = nn.ModuleList(features[start:end] for start, end in zip(starts, SLICE_ENDS))
        self.imagenet_normalize = imagenet_normalize
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def _features(self, x):
        if self.imagenet_normalize:
            x = ((x + 1) / 2 - self.mean) / self.std
        outputs = []
        for block in self.slices:
            x = block(x)
            outputs.append(x)
        return outputs

    def forward(self, fake, real) -> torch.Tensor:
        batch = fake.size(0)
        features = self._features(torch.cat((fake, real), dim=0))
        return sum(weight * F.l1_loss(f[:batch].float(), f[batch:].detach().float())
                   for weight, f in zip(SLICE_WEIGHTS, features))
