"""The VAE image encoder (docs/reference.md §2.5): image → mean and log-variance of a 256-d style code."""
import torch.nn as nn
import torch.nn.functional as F

from models.networks.normalization import normalized_layer

CODE_SIZE = 256


class ConvEncoder(nn.Module):
    """Five or six stride-2 convs to a 4×4 map, then two linear heads.

    The reference always resizes the input to 256² and drops ``layer6`` when ``crop_size < 256``,
    which leaves an 8×8 map and crashes (docs/reference.md §12.9). Here the input is resized to 128² in that
    case, so the same layers (and checkpoint keys) end at 4×4 and work.

    Args:
        opt: options; reads ``ngf`` (the reference uses it, not ``nef``), ``norm_E``, ``crop_size``.
    """

    def __init__(self, opt):
        super().__init__()
        ndf = opt.ngf
        widths = [3, ndf, ndf * 2, ndf * 4, ndf * 8, ndf * 8]
        self.use_layer6 = opt.crop_size >= 256
        if self.use_layer6:
            widths.append(ndf * 8)
        self.input_size = 256 if self.use_layer6 else 128
        for i in range(len(widths) - 1):
            conv = nn.Conv2d(widths[i], widths[i + 1], kernel_size=3, stride=2, padding=1)
            self.add_module(f"layer{i + 1}", normalized_layer(conv, opt.norm_E, "--norm_E"))
        self.so = 4
        self.fc_mu = nn.Linear(ndf * 8 * self.so * self.so, CODE_SIZE)
        self.fc_var = nn.Linear(ndf * 8 * self.so * self.so, CODE_SIZE)

    def forward(self, x):
        if x.shape[2:] != (self.input_size, self.input_size):
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear")
        layers = [m for name, m in self.named_children() if name.startswith("layer")]
        for i, layer in enumerate(layers):
            x = layer(x if i == 0 else F.leaky_relu(x, 0.2))
        x = F.leaky_relu(x, 0.2).flatten(1)
        return self.fc_mu(x), self.fc_var(x)
