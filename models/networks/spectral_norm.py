"""Spectrally normalised convolution with the legacy ``torch.nn.utils.spectral_norm`` state_dict layout.

Checkpoints keep ``bias``, ``weight_orig``, ``weight_u``, ``weight_v`` in that order (docs/reference.md §3),
and the power iteration is the legacy one (one step per training forward, u and v updated in
place, none in eval mode). The difference is where the division by sigma happens: dividing a
1024×1024×3×3 weight costs far more than dividing the 8×8 map it produces, so the layer divides
whichever tensor is smaller (the results agree to float rounding).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

EPS = 1e-12


class SpectralNormConv2d(nn.Conv2d):
    """A ``Conv2d`` whose weight is divided by its largest singular value (Miyato et al. 2018).

    Made from a built conv by ``to_spectral``, which draws the power-iteration vectors exactly as
    the legacy function does, so a network consumes the random stream as the reference's does.
    """

    def _make_spectral(self) -> None:
        weight = self.weight.detach()
        bias = self.bias
        del self.weight
        del self.bias  # re-registered first: the legacy layout lists bias before weight_orig
        self.register_parameter("bias", bias)
        self.weight_orig = nn.Parameter(weight)
        rows, columns = weight.size(0), weight[0].numel()
        self.register_buffer("weight_u", F.normalize(weight.new_empty(rows).normal_(0, 1), dim=0, eps=EPS))
        self.register_buffer("weight_v", F.normalize(weight.new_empty(columns).normal_(0, 1), dim=0, eps=EPS))

    @property
    def weight(self) -> torch.Tensor:
        """The normalised weight (for inspection and initialisation code that reads ``.weight``)."""
        return self.weight_orig / self._sigma()

    def _sigma(self) -> torch.Tensor:
        matrix, in_memory_order = weight_matrix(self.weight_orig)
        if self.training:
            with torch.no_grad():
                v = F.normalize(torch.mv(matrix.t(), self.weight_u), dim=0, eps=EPS)
                self.weight_v.copy_(in_memory_order(v, inverse=True))
                F.normalize(torch.mv(matrix, v), dim=0, eps=EPS, out=self.weight_u)
        else:
            v = in_memory_order(self.weight_v)
        u = self.weight_u.clone(memory_format=torch.contiguous_format)
        v = v.clone(memory_format=torch.contiguous_format)
        return torch.dot(u, torch.mv(matrix, v))

    def _weights_key(self) -> tuple:
        """Changes whenever the weight or the power-iteration vectors change (in place, or replaced or moved)."""
        return (self.weight_orig._version, self.weight_u._version, self.weight_v._version, self.weight_orig.data_ptr(),
                self.weight_orig.device)

    def _frozen_sigma(self) -> torch.Tensor:
        """Sigma for inference, kept while the weight and the power-iteration vectors stay unchanged."""
        key = self._weights_key()
        if getattr(self, "_kept_sigma", (None, None))[0] != key:
            self._kept_sigma = (key, self._sigma())
        return self._kept_sigma[1]

    def forward(self, x):
        inference = not (self.training or torch.is_grad_enabled())
        if inference and self.padding_mode == "zeros" and _packs_for_onednn(x):
            return self._packed_inference(x)
        sigma = self._frozen_sigma() if inference else self._sigma()
        out_pixels = x.size(0) * (x.size(2) // self.stride[0]) * (x.size(3) // self.stride[1])
        if self.weight_orig.numel() <= self.out_channels * out_pixels:
            return self._conv_forward(x, self.weight_orig / sigma, self.bias)
        out = self._conv_forward(x, self.weight_orig, None) / sigma
        return out if self.bias is None else out + self.bias.view(1, -1, 1, 1)

    def _packed_inference(self, x):
        """Inference on the CPU with the normalised weight reordered once into oneDNN's layout.

        A plain CPU convolution reorders its weight on every call, which costs as much as the
        arithmetic for the 1024-channel convolutions at 8² and 16²; the packed weight is kept while
        the weights, the vectors and the input size stay the same.
        """
        key = (self._weights_key(), tuple(x.shape))
        if getattr(self, "_packed", (None, None))[0] != key:
            weight = (self.weight_orig / self._frozen_sigma()).contiguous()
            packed = torch._C._nn.mkldnn_reorder_conv2d_weight(weight.to_mkldnn(), list(self.padding), list(self.stride),
                                                              list(self.dilation), self.groups, list(x.shape))
            self._packed = (key, packed)
        return torch.ops.mkldnn._convolution_pointwise(x, self._packed[1], self.bias, list(self.padding),
                                                       list(self.stride), list(self.dilation), self.groups, "none", [], "")


def _packs_for_onednn(x: torch.Tensor) -> bool:
    """Whether a packed oneDNN weight serves this inference input: fp32 on the CPU, outside autocast and compilation."""
    return (x.device.type == "cpu" and x.dtype == torch.float32 and x.dim() == 4 and torch.backends.mkldnn.is_available()
            and not torch.is_autocast_enabled("cpu") and not torch.compiler.is_compiling())


def weight_matrix(weight: torch.Tensor):
    """The weight as an [out, in·kh·kw] matrix without copying it, and how to reorder a column vector to match.

    A channels-last weight is laid out as [out, kh, kw, in], so its rows are read in that order
    (flattening it in the logical order would copy all of it on every forward); the vector ``v``
    of the power iteration keeps the logical order it has in checkpoints.
    """
    if weight.dim() != 4 or weight.is_contiguous():
        return weight.flatten(1), lambda vector, inverse=False: vector
    order = sorted(range(1, 4), key=lambda dim: -weight.stride(dim))
    matrix = weight.permute(0, *order).reshape(weight.size(0), -1)
    logical = weight.shape[1:]
    stored = [weight.size(dim) for dim in order]

    def in_memory_order(vector, inverse=False):
        if inverse:
            return vector.view(stored).permute(*[order.index(d) for d in range(1, 4)]).reshape(-1)
        return vector.view(logical).permute(*[d - 1 for d in order]).reshape(-1)

    return matrix, in_memory_order


def to_spectral(conv: nn.Conv2d) -> SpectralNormConv2d:
    """Turn a built ``Conv2d`` into a ``SpectralNormConv2d`` in place (its weights kept), and return it."""
    conv.__class__ = SpectralNormConv2d
    conv._make_spectral()
    return conv
