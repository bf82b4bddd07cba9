"""SPADE: spatially-adaptive denormalization (Park et al. 2019), docs/reference.md §2.3."""
import torch
import torch.nn as nn

from models.networks.label_pyramid import LabelPyramid
from models.networks.normalization import parameter_free_norm, parse_spade_config

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
        normalized = self.param_free_norm(x)
        gamma, beta = self.modulation(labels.at(x.shape[2:]))
        return torch.addcmul(beta, normalized, 1 + gamma)

    def modulation(self, segmap):
        """The scale and shift (gamma, beta) predicted from a semantic map already at the activation's size."""
        hidden = self.mlp_shared(segmap)
        return self.mlp_gamma(hidden), self.mlp_beta(hidden)
