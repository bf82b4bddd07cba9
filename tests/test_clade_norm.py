"""CLADE's norm at inference (batch norm folded into the class affine, looked up a band of rows at a time)
equals the norm and the affine applied one after the other."""
import pytest
import torch

from models.networks import clade
from models.networks.label_pyramid import LabelPyramid


@pytest.mark.parametrize("band_bytes", [clade.LOOKUP_BAND_BYTES, 3000, 1])
def test_inference_equals_norm_then_affine(monkeypatch, band_bytes):
    torch.manual_seed(0)
    norm = clade.CLADE("spadesyncbatch3x3", 6, 5)
    norm.param_free_norm.running_mean.normal_()
    norm.param_free_norm.running_var.uniform_(0.5, 2)
    norm.class_specified_affine.bias.data.normal_()
    label = torch.randint(0, 5, (2, 1, 20, 12))
    labels = LabelPyramid(torch.zeros(2, 5, 20, 12).scatter_(1, label, 1.0), 5)
    x = torch.randn(2, 6, 20, 12).contiguous(memory_format=torch.channels_last)
    norm.eval()
    expected = norm.class_specified_affine(norm.param_free_norm(x), labels.class_index((20, 12)))
    monkeypatch.setattr(clade, "LOOKUP_BAND_BYTES", band_bytes)
    with torch.no_grad():
        folded = norm(x, labels)
    assert folded.shape == expected.shape and folded.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(folded, expected, atol=1e-5)
    monkeypatch.setattr(clade, "LOOKUP_BAND_BYTES", clade.LOOKUP_BAND_BYTES * 1000)
    with torch.no_grad():
        assert torch.equal(norm(x, labels), folded)  # bands change nothing, bit for bit
