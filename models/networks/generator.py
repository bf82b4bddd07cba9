"""The SPADE generator (docs/reference.md §2.1): a stack of label-modulated residual blocks from a tiny seed map."""
import torch
import torch.nn as nn
import torch.nn.functional as F

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

        self.head_0 = SPADEResnetBlock(16 * nf, 16 * nf, opt)
        self.G_middle_0 = SPADEResnetBlock(16 * nf, 16 * nf, opt)
        self.G_middle_1 = SPADEResnetBlock(16 * nf, 16 * nf, opt)
        self.up_0 = SPADEResnetBlock(16 * nf, 8 * nf, opt)
        self.up_1 = SPADEResnetBlock(8 * nf, 4 * nf, opt)
        self.up_2 = SPADEResnetBlock(4 * nf, 2 * nf, opt)
        self.up_3 = SPADEResnetBlock(2 * nf, 1 * nf, opt)
        final_nc = nf
        if opt.num_upsampling_layers == "most":
            self.up_4 = SPADEResnetBlock(1 * nf, nf // 2, opt)
            final_nc = nf // 2
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

        x = self.head_0(x, seg, input_dist)
        x = self.up(x)
        x = self.G_middle_0(x, seg, input_dist)
        if self.opt.num_upsampling_layers in ("more", "most"):
            x = self.up(x)
        x = self.G_middle_1(x, seg, input_dist)
        for block in (self.up_0, self.up_1, self.up_2, self.up_3):
            x = self.up(x)
            x = block(x, seg, input_dist)
        if self.opt.num_upsampling_layers == "most":
            x = self.up(x)
            x = self.up_4(x, seg, input_dist)
        x = self.conv_img(F.leaky_relu(x, 0.2))
        return torch.tanh(x)


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
