"""The SPADE residual block: two modulated 3×3 convs and a learned shortcut when widths differ (docs/reference.md §2.2)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from models.networks.clade import CLADE
from models.networks.label_pyramid import label_classes
from models.networks.spade import SPADE
from models.networks.spectral_norm import to_spectral

NORM_MODES = ("spade", "clade", "sean")


class SPADEResnetBlock(nn.Module):
    """``out = shortcut(x) + conv_1(act(norm_1(conv_0(act(norm_0(x))))))``, every norm conditioned on the labels.

    Args:
        fin: input channels.
        fout: output channels.
        opt: options; reads ``norm_G``, ``norm_mode``, ``semantic_nc``, ``label_nc``,
            ``contain_dontcare_label``, ``no_instance``, ``add_dist``.
    """

    def __init__(self, fin: int, fout: int, opt):
        super().__init__()
        # CLADE with instance maps appends the edge channel to each norm output (docs/reference.md §2.4)
        extra = 1 if opt.norm_mode == "clade" and not opt.no_instance else 0
        fmiddle = add_block_convs(self, fin, fout, opt.norm_G, extra)

        config = opt.norm_G.replace("spectral", "")
        self.norm_0 = conditional_norm(config, fin, opt)
        self.norm_1 = conditional_norm(config, fmiddle, opt)
        if self.learned_shortcut:
            self.norm_s = conditional_norm(config, fin, opt)

    def forward(self, x, labels, input_dist=None):
        # in eval mode without autograd each norm returns a map of its own: activate it in place
        in_place = not (self.training or torch.is_grad_enabled())
        x_s = self.conv_s(self.norm_s(x, labels, input_dist)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, labels, input_dist), 0.2, inplace=in_place))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, labels, input_dist), 0.2, inplace=in_place))
        return x_s + dx


def add_block_convs(block: nn.Module, fin: int, fout: int, norm_G: str, extra: int = 0) -> int:
    """Give a residual block its ``conv_0``, ``conv_1`` (and ``conv_s`` when widths differ); returns the middle width.

    Args:
        block: the block being built; gets ``learned_shortcut`` too.
        fin, fout: input and output channels.
        norm_G: ``--norm_G``; ``spectral...`` wraps the convs in spectral norm.
        extra: channels the norms add to their output (CLADE's instance edges).
    """
    block.learned_shortcut = fin != fout
    fmiddle = min(fin, fout)
    block.conv_0 = nn.Conv2d(fin + extra, fmiddle, kernel_size=3, padding=1)
    block.conv_1 = nn.Conv2d(fmiddle + extra, fout, kernel_size=3, padding=1)
    if block.learned_shortcut:
        block.conv_s = nn.Conv2d(fin + extra, fout, kernel_size=1, bias=False)
    if "spectral" in norm_G:  # after all three convs are built, as the reference draws its random numbers
        for name in ("conv_0", "conv_1", "conv_s"):
            if hasattr(block, name):
                to_spectral(getattr(block, name))
    return fmiddle


def conditional_norm(config: str, channels: int, opt) -> nn.Module:
    """The label-conditioned norm that ``--norm_mode`` selects."""
    if opt.norm_mode == "spade":
        return SPADE(config, channels, opt.semantic_nc)
    return CLADE(config, channels, label_classes(opt), opt.no_instance, opt.add_dist)
