"""Spectral norm at inference: a weight packed once for oneDNN gives the plain convolution's output."""
import pytest
import torch
import torch.nn.functional as F

from models.networks.spectral_norm import to_spectral


def spectral_conv(channels_in, channels_out, padding=1):
    torch.manual_seed(0)
    conv = to_spectral(torch.nn.Conv2d(channels_in, channels_out, 3, padding=padding))
    for _ in range(3):  # a few power iterations, as training makes
        conv(torch.randn(1, channels_in, 8, 8))
    return conv.eval()


def plain(conv, x):
    with torch.no_grad():
        return F.conv2d(x, conv.weight, conv.bias, padding=conv.padding)


@pytest.mark.parametrize("memory_format", [torch.channels_last, torch.contiguous_format])
def test_packed_inference_equals_the_plain_convolution(memory_format):
    conv = spectral_conv(32, 16).to(memory_format=memory_format)
    x = torch.randn(2, 32, 12, 10).contiguous(memory_format=memory_format)
    with torch.no_grad():
        packed = conv(x)
    assert hasattr(conv, "_packed")
    expected = plain(conv, x)
    assert (packed - expected).abs().max() <= 1e-5 * expected.abs().max()


def test_packed_weight_follows_new_weights_and_input_sizes():
    conv = spectral_conv(8, 4)
    with torch.no_grad():
        conv(torch.randn(1, 8, 6, 6))
        conv.weight_orig.mul_(3)
        conv.bias.add_(1)
        for size in ((6, 6), (9, 7)):
            x = torch.randn(1, 8, *size)
            out = conv(x)
            expected = plain(conv, x)
            assert out.shape == expected.shape and (out - expected).abs().max() <= 1e-5 * expected.abs().max()


def test_training_and_recorded_forwards_do_not_pack():
    conv = spectral_conv(8, 4)
    x = torch.randn(1, 8, 6, 6)
    assert conv(x).requires_grad and not hasattr(conv, "_packed")
    with torch.autocast("cpu", dtype=torch.bfloat16), torch.no_grad():
        conv(x)
    assert not hasattr(conv, "_packed")
    with torch.no_grad():
        conv(x)
    assert hasattr(conv, "_packed")
