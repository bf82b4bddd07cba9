"""CLADE: class-adaptive denormalization (Tan et al. 2021), docs/reference.md §2.4.

Instead of predicting the modulation with convolutions, every class owns one learned scale and
shift per channel, looked up at each pixel from the label map.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from models.networks.class_lookup import class_lookup
from models.networks.label_pyramid import LabelPyramid
from models.networks.modulation import modulate
from models.networks.normalization import parameter_free_norm, parse_spade_config, uses_running_statistics


class ClassAffine(nn.Module):
    """Per-class affine parameters, optionally modulated by the intra-class positional map (ICPE).

    Args:
        label_nc: number of classes (without the instance channel).
        norm_nc: channels of the modulated activation.
        add_dist: modulate scale and shift with a 2-channel positional offset map.
    """

    def __init__(self, label_nc: int, norm_nc: int, add_dist: bool = False):
        super().__init__()
        self.add_dist = add_dist
        self.weight = nn.Parameter(torch.empty(label_nc, norm_nc).uniform_())
        self.bias = nn.Parameter(torch.zeros(label_nc, norm_nc))
        if add_dist:
            self.dist_conv_w = nn.Conv2d(2, 1, kernel_size=1)
            self.dist_conv_b = nn.Conv2d(2, 1, kernel_size=1)

    def forward(self, x, class_map, input_dist=None):
        """Modulate ``x`` by ``x * gamma + beta`` (no ``1 +``: CLADE's convention, docs/reference.md §12.2).

        Args:
            x: normalized activation [B, C, H, W].
            class_map: class index per pixel [B, H, W] at the resolution of ``x``.
            input_dist: positional offsets [B, 2, h, w] (``add_dist`` only).
        """
        gamma = class_lookup(class_map, self.weight).permute(0, 3, 1, 2)
        beta = class_lookup(class_map, self.bias).permute(0, 3, 1, 2)
        if self.add_dist:
            input_dist = F.interpolate(input_dist, size=x.shape[2:], mode="nearest")
            gamma = gamma * (1 + self.dist_conv_w(input_dist))
            beta = beta * (1 + self.dist_conv_b(input_dist))
        return modulate(x, gamma, beta)


LOOKUP_BAND_BYTES = 8 * 2 ** 20


class CLADE(nn.Module):
    """Parameter-free norm followed by a class-wise affine; with instance maps, one extra edge channel.

    Args:
        config_text: e.g. ``spadesyncbatch3x3`` (only the norm kind matters: CLADE has no convs).
        norm_nc: channels of the normalized activation.
        label_nc: classes in the one-hot map (``label_nc`` + dontcare, without instance).
        no_instance: when False the semantic map's last channel is an instance-edge map, passed through
            a 1×1 conv and appended to the output (so the output has ``norm_nc + 1`` channels).
        add_dist: use the intra-class positional encoding.
    """

    def __init__(self, config_text: str, norm_nc: int, label_nc: int, no_instance: bool = True, add_dist: bool = False):
        super().__init__()
        norm_kind, _ = parse_spade_config(config_text)
        self.no_instance = no_instance
        self.param_free_norm = parameter_free_norm(norm_kind, norm_nc)
        self.class_specified_affine = ClassAffine(label_nc, norm_nc, add_dist)
        if not no_instance:
            self.inst_conv = nn.Conv2d(1, 1, kernel_size=1)

    def forward(self, x, labels: LabelPyramid, input_dist=None):
        classes = labels.class_index(x.shape[2:])
        if uses_running_statistics(self.param_free_norm) and input_dist is None:
            out = self._normalized_and_modulated(x, classes)
        else:
            out = self.class_specified_affine(self.param_free_norm(x), classes, input_dist)
        if not self.no_instance:
            edges = labels.at(x.shape[2:])[:, -1:]
            out = torch.cat((out, self.inst_conv(edges)), dim=1)
        return out

    def _normalized_and_modulated(self, x, classes):
        """Batch norm with running statistics then the class affine, as one per-class affine: one pass over ``x``.

        On the CPU the looked-up scale and shift are made a band of rows at a time, each band under
        ``LOOKUP_BAND_BYTES``, and only the result is a full-size map: at 256² a full lookup is just
        over the size from which glibc's malloc hands out fresh, page-faulting memory on every call
        (docs/speed.md). GPUs cache their memory and take it whole.
        """
        norm, affine = self.param_free_norm, self.class_specified_affine
        inverse_std = torch.rsqrt(norm.running_var + norm.eps)
        scale = affine.weight * inverse_std
        shift = affine.bias - norm.running_mean * scale
        b, c, h, w = x.shape
        out = x.new_empty(b, h, w, c)  # channels-last, as a lookup is
        x = x.permute(0, 2, 3, 1)
        rows = max(1, LOOKUP_BAND_BYTES // (b * w * c * x.element_size())) if x.device.type == "cpu" else h
        for top in range(0, h, rows):
            band = classes[:, top:top + rows]
            torch.addcmul(F.embedding(band, shift), x[:, top:top + rows], F.embedding(band, scale),
                          out=out[:, top:top + rows])
        return out.permute(0, 3, 1, 2)
