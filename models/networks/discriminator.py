"""PatchGAN discriminators (docs/reference.md §2.6): one N-layer patch classifier, and several at decreasing scales."""
import math

import torch.nn as nn
import torch.nn.functional as F

from models.networks.normalization import normalized_layer


class NLayerDiscriminator(nn.Module):
    """A patch classifier over ``cat(semantic map, image)``; returns every layer's output for feature matching.

    Args:
        opt: options; reads ``ndf``, ``n_layers_D``, ``norm_D``, ``label_nc``, ``output_nc``,
            ``contain_dontcare_label``, ``no_instance``, ``no_ganFeat_loss``, ``norm_mode``.
    """

    @staticmethod
    def modify_commandline_options(parser, is_train):
        parser.add_argument("--n_layers_D", type=int, default=4, help="# layers in each discriminator")
        return parser

    def __init__(self, opt):
        super().__init__()
        self.return_features = not opt.no_ganFeat_loss
        kernel, padding = 4, math.ceil((4 - 1) / 2)
        nf = opt.ndf
        input_nc = opt.label_nc + opt.output_nc + (1 if opt.contain_dontcare_label else 0) + (0 if opt.no_instance else 1)

        stages = [[nn.Conv2d(input_nc, nf, kernel, stride=2, padding=padding), nn.LeakyReLU(0.2)]]
        for n in range(1, opt.n_layers_D):
            nf_prev, nf = nf, min(nf * 2, 512)
            # SPADE keeps the last hidden layer at stride 1; SEAN strides every layer (same shapes, other outputs)
            stride = 1 if n == opt.n_layers_D - 1 and opt.norm_mode != "sean" else 2
            conv = nn.Conv2d(nf_prev, nf, kernel, stride=stride, padding=padding)
            stages.append([normalized_layer(conv, opt.norm_D, "--norm_D"), nn.LeakyReLU(0.2)])
        stages.append([nn.Conv2d(nf, 1, kernel, stride=1, padding=padding)])
        for n, stage in enumerate(stages):
            self.add_module(f"model{n}", nn.Sequential(*stage))

    def forward(self, x):
        features = []
        for stage in self.children():
            x = stage(x)
            features.append(x)
        return features if self.return_features else x


class MultiscaleDiscriminator(nn.Module):
    """``num_D`` discriminators, each seeing the input average-pooled once more than the previous one.

    Returns a list (one per scale) of lists of feature maps, the last of each being the prediction.
    """

    @staticmethod
    def modify_commandline_options(parser, is_train):
        parser.add_argument("--netD_subarch", type=str, default="n_layer", choices=("n_layer",),
                            help="architecture of each discriminator")
        parser.add_argument("--num_D", type=int, default=2, help="number of discriminators to be used in multiscale")
        return parser

    def __init__(self, opt):
        super().__init__()
        for i in range(opt.num_D):
            self.add_module(f"discriminator_{i}", NLayerDiscriminator(opt))

    def forward(self, x):
        results = []
        for discriminator in self.children():
            out = discriminator(x)
            results.append(out if discriminator.return_features else [out])
            x = F.avg_pool2d(x, kernel_size=3, stride=2, padding=1, count_include_pad=False)
        return results
