"""The SPADE generator (docs/reference.md §2.1): a stack of label-modulated residual blocks from a tiny seed map."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from models.networks.label_pyramid import LabelPyramid, label_classes
from models.networks.residual_block import SPADEResnetBlock
from util.errors import UserError

UPSAMPLINGS = {"normal": 5, "more": 6, "most": 7}


class SPADEGenerator(nn.Module):
    """Label map (and optionally a latent code) → image in [-1, 1].

    Args:
        opt: options; reads ``ngf``, ``crop_size``, ``aspect_ratio``, ``num_upsampling_layers``,
            ``use_vae``, ``z_dim``, ``semantic_nc`` and what the residual blocks read.
    """

    @staticmethod
    def modify_commandline_options(parser, is_train):
        parser.set_defaults(norm_G="spectralspadesyncbatch3x3")
        parser.add_argument("--num_upsampling_layers", choices=tuple(UPSAMPLINGS), default="normal",
                            help="'more' adds an upsampling between the two middle blocks; "
                                 "'most' also adds an upsampling and a residual block at the end")
        return parser

    def __init__(self, opt):
        super().__init__()
        self.opt = opt
        nf = opt.ngf
        self.sw, self.sh = latent_size(opt)

        if opt.use_vae:
            self.fc = nn.Linear(opt.z_dim, 16 * nf * self.sw * self.sh)
        else:
            self.fc = nn.Conv2d(opt.semantic_nc, 16 * nf, kernel_size=3, padding=1)

        final_nc = add_residual_blocks(self, opt, lambda fin, fout, name: SPADEResnetBlock(fin, fout, opt))
        self.conv_img = nn.Conv2d(final_nc, 3, kernel_size=3, padding=1)
        self.up = nn.Upsample(scale_factor=2)

    def forward(self, seg, z=None, input_dist=None):
        """Args:
            seg: semantic map [B, semantic_nc, H, W] (one-hot classes, then instance edges).
            z: latent code [B, z_dim] (``use_vae`` only; sampled from N(0, I) when None).
            input_dist: positional offsets [B, 2, H, W] for CLADE-ICPE, else None.
        """
        if self.opt.use_vae:
            if z is None:
                z = torch.randn(seg.size(0), self.opt.z_dim, device=seg.device, dtype=seg.dtype)
            x = self.fc(z).view(-1, 16 * self.opt.ngf, self.sh, self.sw)
        else:
            x = self.fc(F.interpolate(seg, size=(self.sh, self.sw)))

        labels = LabelPyramid(seg, label_classes(self.opt))
        x = run_residual_blocks(self, x, labels, input_dist)
        x = self.conv_img(F.leaky_relu(x, 0.2))
        return torch.tanh(x)


# (name, input width, output width) in multiples of --ngf, in the order the reference registers them
BLOCK_WIDTHS = (("head_0", 16, 16), ("G_middle_0", 16, 16), ("G_middle_1", 16, 16), ("up_0", 16, 8),
                ("up_1", 8, 4), ("up_2", 4, 2), ("up_3", 2, 1))


def add_residual_blocks(generator: nn.Module, opt, make_block) -> int:
    """Register ``head_0`` … ``up_3`` (and ``up_4`` for ``most``) made by ``make_block(fin, fout, name)``.

    Returns the channel count of the last block's output.
    """
    for name, fin, fout in BLOCK_WIDTHS:
        generator.add_module(name, make_block(fin * opt.ngf, fout * opt.ngf, name))
    if opt.num_upsampling_layers == "most":
        generator.add_module("up_4", make_block(opt.ngf, opt.ngf // 2, "up_4"))
        return opt.ngf // 2
    return opt.ngf


def run_residual_blocks(generator: nn.Module, x, *conditions):
    """The blocks from the seed map up, doubling the resolution between them; ``conditions`` go to every block."""
    x = generator.head_0(x, *conditions)
    x = generator.up(x)
    x = generator.G_middle_0(x, *conditions)
    if generator.opt.num_upsampling_layers in ("more", "most"):
        x = generator.up(x)
    x = generator.G_middle_1(x, *conditions)
    for block in (generator.up_0, generator.up_1, generator.up_2, generator.up_3):
        x = generator.up(x)
        x = block(x, *conditions)
    if generator.opt.num_upsampling_layers == "most":
        x = generator.up(x)
        x = generator.up_4(x, *conditions)
    return x


def latent_size(opt) -> tuple[int, int]:
    """Width and height of the seed map; the crop must be an exact multiple of the upsampling factor."""
    factor = 2 ** UPSAMPLINGS[opt.num_upsampling_layers]
    sw = opt.crop_size // factor
    sh = round(sw / opt.aspect_ratio)
    if opt.crop_size % factor or sh < 1:
        smallest = factor * max(1, round(opt.aspect_ratio))
        raise UserError(
            f"--crop_size {opt.crop_size} cannot be produced by the generator: with --num_upsampling_layers "
            f"{opt.num_upsampling_layers} and --aspect_ratio {opt.aspect_ratio} it must be a multiple of {factor} "
            f"and at least {smallest}; use e.g. --crop_size {max(smallest, factor * max(1, round(opt.crop_size / factor)))}."
        )
    return sw, sh
