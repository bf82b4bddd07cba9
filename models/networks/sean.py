"""SEAN: semantic region-adaptive normalization (Zhu et al. 2020), docs/sean_reference.md.

A style encoder turns the photo into one 512-d code per semantic class; every ACE norm maps
each class's code through its own linear layer, paints it over the class's region and convolves
the painted map into a scale and shift, blended with a SPADE branch that sees only the labels.
Module and parameter names are SEAN's (``Zencoder``, ``Spade``, ``fc_mu<j>``) so its
checkpoints load strictly.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from models.networks.label_pyramid import LabelPyramid
from models.networks.spade import SPADE, with_zero_row

STYLE_LENGTH = 512  # SEAN's; --style_length changes it (then SEAN's checkpoints no longer fit)
# SEAN's ACE normalises with synchronised batch norm and 3x3 style convs whatever --norm_G says
STYLE_KERNEL = 3


class StyleEncoder(nn.Module):
    """SEAN's ``Zencoder``: image → feature map at half resolution → per-class average = one code per class.

    Args:
        input_nc: image channels.
        code_length: length of each style code.
        width: channels of the first conv (SEAN fixes 32 whatever ``--ngf``).
        downsamplings: stride-2 convs before the single upsampling.
    """

    def __init__(self, input_nc: int = 3, code_length: int = STYLE_LENGTH, width: int = 32, downsamplings: int = 2):
        super().__init__()
        layers = [nn.ReflectionPad2d(1), nn.Conv2d(input_nc, width, kernel_size=3), nn.InstanceNorm2d(width),
                  nn.LeakyReLU(0.2)]
        for i in range(downsamplings):
            channels = width * 2 ** i
            layers += [nn.Conv2d(channels, 2 * channels, kernel_size=3, stride=2, padding=1),
                       nn.InstanceNorm2d(2 * channels), nn.LeakyReLU(0.2)]
        channels = width * 2 ** downsamplings
        layers += [nn.ConvTranspose2d(channels, 2 * channels, kernel_size=3, stride=2, padding=1, output_padding=1),
                   nn.InstanceNorm2d(2 * channels), nn.LeakyReLU(0.2),
                   nn.ReflectionPad2d(1), nn.Conv2d(2 * channels, code_length, kernel_size=3), nn.Tanh()]
        self.model = nn.Sequential(*layers)
        self.downsamplings = downsamplings

    def feature_size(self, size) -> tuple[int, int]:
        """(h, w) of the feature map for an image of ``size``: stride-2 convs, then one 2x transposed conv."""
        def side(length: int) -> int:
            for _ in range(self.downsamplings):
                length = (length - 1) // 2 + 1
            return 2 * length
        return side(int(size[0])), side(int(size[1]))

    def regions(self, labels: LabelPyramid, image_size) -> torch.Tensor:
        """[B, classes] bool: which classes cover pixels at the feature resolution, i.e. have a code."""
        return labels.class_masks(self.feature_size(image_size)).amax(dim=(2, 3)) > 0

    def forward(self, image: torch.Tensor, labels: LabelPyramid) -> torch.Tensor:
        """Style codes [B, classes, code_length]: the mean feature inside each class's region (zeros where absent)."""
        features = self.model(image)
        masks = labels.class_masks(features.shape[2:]).to(features.dtype)
        sums = torch.einsum("bchw,bjhw->bjc", features, masks)
        areas = masks.sum(dim=(2, 3)).clamp(min=1).unsqueeze(2)
        return sums / areas


class ACE(nn.Module):
    """Normalize ``x + noise``, then modulate it by a blend of a per-region style branch and a SPADE branch.

    Args:
        spade_config: ``--norm_G`` without ``spectral`` (the SPADE branch's layout).
        norm_nc: channels of the modulated activation.
        semantic_nc: channels of the semantic map.
        classes: number of classes, one ``fc_mu<j>`` each (SEAN hard-codes 19).
        use_style: build the style branch (SEAN's last block, ``up_3``, has none).
        style_length: length of the style codes.
    """

    def __init__(self, spade_config: str, norm_nc: int, semantic_nc: int, classes: int, use_style: bool = True,
                 style_length: int = STYLE_LENGTH):
        super().__init__()
        self.use_style = use_style
        self.classes = classes
        self.style_length = style_length
        self.Spade = SPADE(spade_config, norm_nc, semantic_nc)
        self.blending_gamma = nn.Parameter(torch.zeros(1))
        self.blending_beta = nn.Parameter(torch.zeros(1))
        self.noise_var = nn.Parameter(torch.zeros(norm_nc))
        self.param_free_norm = nn.SyncBatchNorm(norm_nc, affine=False)
        if use_style:
            for j in range(classes):
                self.add_module(f"fc_mu{j}", nn.Linear(style_length, style_length))
            padding = STYLE_KERNEL // 2
            self.conv_gamma = nn.Conv2d(style_length, norm_nc, kernel_size=STYLE_KERNEL, padding=padding)
            self.conv_beta = nn.Conv2d(style_length, norm_nc, kernel_size=STYLE_KERNEL, padding=padding)

    def forward(self, x: torch.Tensor, labels: LabelPyramid, style_codes: torch.Tensor | None) -> torch.Tensor:
        """Args:
            x: activation [B, C, H, W].
            labels: the semantic map of this forward pass.
            style_codes: [B, classes, style_length] (unused without the style branch).
        """
        normalized = self.param_free_norm(x + self.noise(x))
        gamma, beta = self.Spade.modulation(labels, x.shape[2:])
        if self.use_style:
            style_gamma, style_beta = self.style_modulation(style_codes, labels, x.shape[2:])
            style_weight, shift_weight = torch.sigmoid(self.blending_gamma), torch.sigmoid(self.blending_beta)
            gamma = style_weight * style_gamma + (1 - style_weight) * gamma
            beta = shift_weight * style_beta + (1 - shift_weight) * beta
        return normalized * (1 + gamma) + beta

    def noise(self, x: torch.Tensor) -> torch.Tensor:
        """Per-pixel Gaussian noise scaled per channel by ``noise_var``, drawn as SEAN draws it (also at test time)."""
        b, _, h, w = x.shape
        pixels = torch.randn(b, w, h, 1, device=x.device, dtype=x.dtype).permute(0, 3, 2, 1)
        return pixels * self.noise_var.view(1, -1, 1, 1).to(x.dtype)

    def class_styles(self, style_codes: torch.Tensor, present: list[int]) -> torch.Tensor:
        """[B, len(present), style_length]: ``relu(fc_mu<j>(code of class j))`` for each present class j."""
        return torch.stack([F.relu(getattr(self, f"fc_mu{j}")(style_codes[:, j])) for j in present], dim=1)

    def painted_styles(self, style_codes: torch.Tensor, labels: LabelPyramid, size) -> torch.Tensor:
        """[B, style_length, H, W]: at each pixel, ``relu(fc_mu<j>(code of its class j))``; zero where no class is.

        SEAN loops over images and classes with ``masked_scatter_``; with one-hot masks the sum
        below puts the same numbers in the same places, in one batched product.
        """
        present, masks = labels.present_masks(size)
        if not present:
            return masks.new_zeros(masks.size(0), self.style_length, *masks.shape[2:])
        per_class = self.class_styles(style_codes, present)
        return torch.einsum("bjc,bjhw->bchw", per_class, masks.to(per_class.dtype))

    def style_modulation(self, style_codes: torch.Tensor, labels: LabelPyramid, size) -> tuple[torch.Tensor, ...]:
        """``conv_gamma`` and ``conv_beta`` of the painted styles, each [B, norm_nc, H, W].

        The painted map holds one vector per region, so a 3×3 convolution of it sums, over the
        nine taps, the tap's weights times the vector of the class under the tap. On the CPU those
        products are tabulated per (image, class, tap), and each pixel adds its nine rows with
        ``embedding_bag``: the convolutions' sums in another order, about ``style_length`` times
        less work (docs/speed.md).
        """
        present = labels.present_classes(size)
        if not (present and _painted_by_regions(labels)):
            painted = self.painted_styles(style_codes, labels, size)
            return self.conv_gamma(painted), self.conv_beta(painted)
        rows = labels.present_class_taps(size)
        per_class = self.class_styles(style_codes, present).flatten(0, 1)
        b, h, w = labels.class_index(size).shape
        maps = []
        for conv in (self.conv_gamma, self.conv_beta):
            # [out, kh, kw, in] is how a channels-last weight lies in memory: a view, not a copy
            by_output_and_tap = per_class @ conv.weight.permute(0, 2, 3, 1).reshape(-1, self.style_length).t()
            by_tap = by_output_and_tap.view(per_class.size(0), conv.out_channels, 9).transpose(1, 2)
            values = F.embedding_bag(rows, with_zero_row(by_tap.reshape(-1, conv.out_channels)), mode="sum")
            maps.append((values + conv.bias).view(b, h, w, -1).permute(0, 3, 1, 2))
        return tuple(maps)


def _painted_by_regions(labels: LabelPyramid) -> bool:
    """Whether ``ACE.style_modulation`` takes its shortcut: one-hot semantics, eager mode on the CPU.

    GPUs keep the plain convolutions: the shortcut has not been timed on one yet.
    """
    return (labels.semantics.size(1) == labels.classes and labels.semantics.device.type == "cpu"
            and not torch.compiler.is_compiling())
