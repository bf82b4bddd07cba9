"""The SEAN generator (``--norm_mode sean``): SPADE's layout with ACE norms fed by per-class style codes.

Layer names, order and shapes are SEAN's (docs/sean_reference.md), so its checkpoints load
strictly. Two departures: any ``--label_nc`` works (one ``fc_mu`` per class instead of 19), and
``--num_upsampling_layers most`` runs its last block (SEAN builds it but never calls it, and
then fails on the channel count).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from models.networks.generator import SPADEGenerator, add_residual_blocks, latent_size, run_residual_blocks
from models.networks.label_pyramid import LabelPyramid, label_classes
from models.networks.residual_block import add_block_convs
from models.networks.sean import ACE, STYLE_LENGTH, StyleEncoder

DEAD_STATUS = "(SEAN's train/test/UI_mode switch; accepted for compatibility, does nothing here)"


class SEANResnetBlock(nn.Module):
    """SPADE's residual block with ACE norms ``ace_0``, ``ace_1``, ``ace_s``.

    Args:
        fin: input channels.
        fout: output channels.
        opt: options; reads ``norm_G``, ``semantic_nc``, ``label_nc``, ``contain_dontcare_label``, ``style_length``.
        use_style: give the norms their style branch.
    """

    def __init__(self, fin: int, fout: int, opt, use_style: bool = True):
        super().__init__()
        fmiddle = add_block_convs(self, fin, fout, opt.norm_G)
        config = opt.norm_G.replace("spectral", "")
        shared = (opt.semantic_nc, label_classes(opt), use_style, opt.style_length)
        self.ace_0 = ACE(config, fin, *shared)
        self.ace_1 = ACE(config, fmiddle, *shared)
        if self.learned_shortcut:
            self.ace_s = ACE(config, fin, *shared)

    def forward(self, x, labels: LabelPyramid, style_codes):
        x_s = self.conv_s(self.ace_s(x, labels, style_codes)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.ace_0(x, labels, style_codes), 0.2))
        dx = self.conv_1(F.leaky_relu(self.ace_1(dx, labels, style_codes), 0.2))
        return x_s + dx


class SEANGenerator(nn.Module):
    """Label map + style codes (or the photo they come from) → image in [-1, 1].

    Args:
        opt: options; reads ``ngf``, ``crop_size``, ``aspect_ratio``, ``num_upsampling_layers``,
            ``semantic_nc``, ``style_length`` and what the blocks read.
    """

    @staticmethod
    def modify_commandline_options(parser, is_train):
        SPADEGenerator.modify_commandline_options(parser, is_train)
        parser.add_argument("--status", type=str, default="train" if is_train else "test", help=DEAD_STATUS)
        parser.add_argument("--style_length", type=int, default=STYLE_LENGTH,
                            help="length of the per-class style codes (SEAN: 512; other values make checkpoints "
                                 "SEAN's code cannot load, and a far smaller generator)")
        return parser

    def __init__(self, opt):
        super().__init__()
        self.opt = opt
        self.sw, self.sh = latent_size(opt)
        self.classes = label_classes(opt)
        self.Zencoder = StyleEncoder(code_length=opt.style_length)
        self.fc = nn.Conv2d(opt.semantic_nc, 16 * opt.ngf, kernel_size=3, padding=1)
        final_nc = add_residual_blocks(self, opt, lambda fin, fout, name: SEANResnetBlock(
            fin, fout, opt, use_style=name != "up_3"))  # SEAN's last block has no style branch
        self.conv_img = nn.Conv2d(final_nc, 3, kernel_size=3, padding=1)
        self.up = nn.Upsample(scale_factor=2)

    def encode_styles(self, image: torch.Tensor, seg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Style codes [B, classes, style_length] of ``image`` for the regions of ``seg`` (zeros for absent classes),
        and [B, classes] bool: which classes have a code."""
        labels = LabelPyramid(seg, self.classes)
        return self.Zencoder(image, labels), self.Zencoder.regions(labels, image.shape[2:])

    def forward(self, seg, image=None, style_codes=None):
        """Args:
            seg: semantic map [B, semantic_nc, H, W].
            image: the photo whose style is used [B, 3, H, W] (SEAN: the real image).
            style_codes: [B, classes, style_length] instead of ``image`` (style transfer, edited codes).
        """
        labels = LabelPyramid(seg, self.classes)
        if style_codes is None:
            if image is None:
                raise ValueError("the SEAN generator needs the photo whose style it copies (image=) or the style "
                                 "codes themselves (style_codes=).")
            style_codes = self.Zencoder(image, labels)
        x = self.fc(F.interpolate(seg, size=(self.sh, self.sw)))
        x = run_residual_blocks(self, x, labels, style_codes)
        x = self.conv_img(F.leaky_relu(x, 0.2))
        return torch.tanh(x)
