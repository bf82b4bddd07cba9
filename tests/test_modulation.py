"""The norms' ``shift + x · scale`` gives addcmul's values and gradients, bit for bit."""
import pytest
import torch

from models.networks.modulation import modulate


@pytest.mark.parametrize("shapes", [((2, 3, 5, 5),) * 3, ((2, 3, 5, 5), (1, 3, 1, 1), (2, 3, 5, 5)),
                                    ((2, 3, 5, 5), (2, 3, 5, 5), (3, 1, 1))])
def test_values_and_gradients_equal_addcmul(shapes):
    generator = torch.Generator().manual_seed(0)
    results = []
    for function in (modulate, lambda x, scale, shift: torch.addcmul(shift, x, scale)):
        inputs = [torch.randn(shape, generator=generator.manual_seed(i)).requires_grad_() for i, shape in
                  enumerate(shapes)]
        out = function(*inputs)
        out.backward(torch.randn(out.shape, generator=generator.manual_seed(9)))
        results.append([out.detach(), *(t.grad for t in inputs)])
    for ours, theirs in zip(*results):
        assert ours.shape == theirs.shape and torch.equal(ours, theirs)


def test_only_the_needed_gradients_are_made():
    x, scale = torch.randn(2, 3, 4, 4, requires_grad=True), torch.randn(2, 3, 4, 4)
    modulate(x, scale, torch.zeros(1, 3, 1, 1)).sum().backward()
    assert torch.equal(x.grad, scale) and scale.grad is None
