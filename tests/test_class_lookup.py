"""The per-class lookup gives ``F.embedding``'s values and table gradient, bit for bit."""
import pytest
import torch
import torch.nn.functional as F

from models.networks.class_lookup import class_lookup


@pytest.mark.parametrize("batch, size, channels, channels_last",
                         [(4, 64, 32, False), (1, 256, 64, True), (2, 17, 5, True)])
def test_values_and_gradient_equal_embedding(batch, size, channels, channels_last):
    generator = torch.Generator().manual_seed(0)
    classes = torch.randint(0, 19, (batch, size, size), generator=generator)
    table = torch.randn(19, channels, generator=generator)
    grad = torch.randn(batch, channels, size, size, generator=generator) * 1e3
    if channels_last:
        grad = grad.contiguous(memory_format=torch.channels_last)
    results = []
    for lookup in (class_lookup, F.embedding):
        weights = table.clone().requires_grad_()
        out = lookup(classes, weights)
        out.permute(0, 3, 1, 2).backward(grad)  # as the norms use it: [B, C, H, W]
        results.append((out.detach(), weights.grad))
    (ours, our_grad), (theirs, their_grad) = results
    assert torch.equal(ours, theirs)
    assert torch.equal(our_grad, their_grad) and our_grad.abs().sum() > 0


def test_classes_that_no_pixel_has_get_zero_gradient():
    table = torch.randn(6, 3, requires_grad=True)
    class_lookup(torch.tensor([[[1, 4], [4, 1]]]), table).sum().backward()
    assert torch.equal(table.grad[[0, 2, 3, 5]], torch.zeros(4, 3))
    assert torch.equal(table.grad[[1, 4]], torch.full((2, 3), 2.0))
