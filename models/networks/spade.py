"""SPADE: spatially-adaptive denormalization (Park et al. 2019), docs/reference.md §2.3."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from models.networks.class_lookup import class_lookup
from models.networks.label_pyramid import LabelPyramid
from models.networks.modulation import modulate
from models.networks.normalization import parameter_free_norm, parse_spade_config, uses_running_statistics

HIDDEN_CHANNELS = 128


class SPADE(nn.Module):
    """Normalize ``x``, then modulate it with a per-pixel scale and shift predicted from the label map.

    Args:
        config_text: e.g. ``spadesyncbatch3x3`` (norm kind and modulation kernel size).
        norm_nc: channels of the normalized activation.
        label_nc: channels of the semantic map (one-hot classes plus instance edges).
    """

    def __init__(self, config_text: str, norm_nc: int, label_nc: int):
        super().__init__()
        norm_kind, kernel = parse_spade_config(config_text)
        padding = kernel // 2
        self.param_free_norm = parameter_free_norm(norm_kind, norm_nc)
        self.mlp_shared = nn.Sequential(nn.Conv2d(label_nc, HIDDEN_CHANNELS, kernel, padding=padding), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(HIDDEN_CHANNELS, norm_nc, kernel, padding=padding)
        self.mlp_beta = nn.Conv2d(HIDDEN_CHANNELS, norm_nc, kernel, padding=padding)

    def forward(self, x, labels: LabelPyramid, input_dist=None):
        if uses_running_statistics(self.param_free_norm):
            scale, shift = self._modulation(labels, x.shape[2:], *self._folded_with_norm())
            return shift.addcmul_(x, scale)
        normalized = self.param_free_norm(x)
        gamma, beta = self.modulation(labels, x.shape[2:])
        return modulate(normalized, 1 + gamma, beta)

    def modulation(self, labels: LabelPyramid, size) -> tuple[torch.Tensor, torch.Tensor]:
        """The scale and shift (gamma, beta) predicted from the semantic map at ``size``."""
        return self._modulation(labels, size, (self.mlp_gamma.weight, self.mlp_gamma.bias),
                                (self.mlp_beta.weight, self.mlp_beta.bias))

    def _folded_with_norm(self):
        """Weights and biases whose two convolutions give ``(1 + gamma) / std`` and ``beta - mean (1 + gamma) / std``.

        With batch norm's running statistics, ``(x - mean) / std · (1 + gamma) + beta`` is then one
        multiply-add on ``x``: the norm's pass and the ``1 +`` pass are folded into the weights.
        """
        norm = self.param_free_norm
        inverse_std = torch.rsqrt(norm.running_var + norm.eps)
        (w_gamma, b_gamma), (w_beta, b_beta) = ((c.weight, c.bias) for c in (self.mlp_gamma, self.mlp_beta))
        w_scale, b_scale = w_gamma * inverse_std.view(-1, 1, 1, 1), (1 + b_gamma) * inverse_std
        mean = norm.running_mean
        return (w_scale, b_scale), (w_beta - w_scale * mean.view(-1, 1, 1, 1), b_beta - b_scale * mean)

    def _modulation(self, labels: LabelPyramid, size, gamma_conv, beta_conv) -> tuple[torch.Tensor, torch.Tensor]:
        """``conv(hidden)`` for two (weight, bias) pairs, where ``hidden = mlp_shared(semantic map at size)``.

        On a one-hot map, ``hidden`` at a pixel depends only on the classes in its 3×3 window, and
        the convolutions inside a region only on the region's class. So ``hidden`` is computed once
        per distinct window, the convolutions once per class and, near region edges, as sums of
        per-(window, tap) products: the same sums, in another order (docs/speed.md).
        """
        if not self._by_regions(labels, size):
            hidden = self.mlp_shared(labels.at(size))
            padding = self.mlp_gamma.padding
            return tuple(F.conv2d(hidden, weight, bias, padding=padding) for weight, bias in (gamma_conv, beta_conv))
        windows = labels.edge_windows(size)
        shared = self.mlp_shared[0]
        by_tap_and_class = shared.weight.permute(2, 3, 1, 0).reshape(-1, shared.out_channels)
        window_hidden = F.relu(F.embedding_bag(windows.windows, with_zero_row(by_tap_and_class), mode="sum")
                               + shared.bias)
        class_hidden = F.relu(shared.weight.sum(dim=(2, 3)).t() + shared.bias)
        weight = torch.cat((gamma_conv[0], beta_conv[0]))
        bias = torch.cat((gamma_conv[1], beta_conv[1]))
        return _second_convolutions(weight, bias, class_hidden, window_hidden, labels.class_index(size), windows)

    def _by_regions(self, labels: LabelPyramid, size) -> bool:
        """Whether the shortcut applies: one-hot semantics, 3×3 kernels, eager mode on the CPU, and fewer
        distinct windows than half the pixels (in small maps, where nearly every pixel is near an
        edge, the plain convolutions are cheaper).

        GPUs keep the plain convolutions: the shortcut has not been timed on one yet.
        """
        if (labels.semantics.size(1) != labels.classes or self.mlp_gamma.kernel_size != (3, 3)
                or labels.semantics.device.type != "cpu" or torch.compiler.is_compiling()):
            return False
        pixels = labels.semantics.size(0) * size[0] * size[1]
        return len(labels.edge_windows(size).windows) < pixels / 2


def _second_convolutions(weight, bias, class_hidden, window_hidden, classes, windows) -> tuple[torch.Tensor, ...]:
    """Two 3×3 convolutions [B, O, h, w] of ``hidden``, stacked in ``weight``, given ``hidden`` per class and per
    distinct 3×3 class window.

    Inside regions each is the class's vector. At an edge pixel it sums, over the nine taps, the
    tap's weights times ``hidden`` of the window centred on the tap's pixel: those products are
    tabulated per (window, tap) and summed by ``embedding_bag``.
    """
    outputs, hidden = weight.shape[:2]
    per_class = class_hidden @ weight.sum(dim=(2, 3)).t() + bias
    by_window_and_tap = with_zero_row(window_hidden) @ weight.permute(1, 2, 3, 0).reshape(hidden, 9 * outputs)
    at_edges = F.embedding_bag(windows.edge_taps, by_window_and_tap.view(-1, outputs), mode="sum") + bias
    b, h, w = classes.shape
    maps = []
    for class_values, edge_values in zip(per_class.chunk(2, dim=1), at_edges.chunk(2, dim=1)):
        values = class_lookup(classes, class_values.contiguous()).view(b * h * w, -1)
        values.index_put_((windows.edge,), edge_values.to(values.dtype))
        maps.append(values.view(b, h, w, -1).permute(0, 3, 1, 2))
    return tuple(maps)


def with_zero_row(table: torch.Tensor) -> torch.Tensor:
    """``table`` [n, d] with a row of zeros appended: the row that taps outside the picture read."""
    return F.pad(table, (0, 0, 0, 1))
