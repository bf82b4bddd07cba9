"""SPADE's modulation computed per region away from region edges equals the plain convolutions."""
import sys

import pytest
import torch

import models.networks.spade as spade_module
from conftest import REPO
from models.networks.label_pyramid import LabelPyramid
from models.networks.spade import SPADE

sys.path.append(str(REPO / "scripts"))  # after the repository: scripts/editor.py must not hide the editor package
from make_demo_dataset import face_label_maps  # noqa: E402


def one_hot(ids: torch.Tensor, classes: int) -> torch.Tensor:
    return torch.zeros(ids.size(0), classes, *ids.shape[1:]).scatter_(1, ids.unsqueeze(1), 1.0)


def test_pixels_near_edges_are_those_whose_5x5_window_is_mixed_or_leaves_the_picture():
    ids = torch.zeros(1, 10, 12, dtype=torch.long)
    ids[:, :, 7:] = 3  # a vertical edge between columns 6 and 7
    taps = LabelPyramid(one_hot(ids, 4), 4).region_edge_taps((10, 12))
    inside = torch.zeros(10, 12, dtype=torch.bool)
    inside[2:8, 2:5] = True  # class 0: columns up to 4 see no class 3 within 2 pixels
    inside[2:8, 9:10] = True  # class 3: column 9 only (columns 10, 11 are too near the border)
    assert taps.edge.tolist() == torch.nonzero(~inside.flatten()).flatten().tolist()
    neighbours = taps.neighbours.view(-1, 9)
    first = taps.edge.tolist().index(2 * 12 + 5)  # pixel (2, 5): all its neighbours inside
    assert neighbours[first].tolist() == [r * 12 + c for r in (1, 2, 3) for c in (4, 5, 6)]
    # pixel (0, 0) is the first edge pixel: five of its neighbours lie outside, clamped into the picture
    assert sorted(taps.outside[1][taps.outside[0] == 0].tolist()) == [0, 1, 2, 3, 6]
    assert neighbours[0].tolist() == [0, 0, 1, 0, 0, 1, 12, 12, 13]
    # rows 0 and 9 and columns 0 and 11 have three neighbours outside each, the four corners two more
    assert len(taps.outside[0]) == 2 * 12 * 3 + 2 * 8 * 3 + 4 * 2


@pytest.mark.parametrize("size", [(128, 128), (96, 128)])
def test_region_modulation_equals_the_convolutions_with_their_gradients(size, monkeypatch):
    torch.manual_seed(0)
    ids = torch.from_numpy(face_label_maps(2, 128, 128, seed=3)).long()
    semantics = one_hot(ids, 19)
    spade = SPADE("spadesyncbatch3x3", 16, 19)
    for parameter in spade.parameters():
        torch.nn.init.normal_(parameter, std=0.2)
    x = torch.randn(2, 16, *size)
    edge = LabelPyramid(semantics, 19).region_edge_taps(size).edge
    assert 0 < edge.numel() < 0.5 * 2 * size[0] * size[1]  # the region path is taken

    def modulation_and_gradients(limit):
        monkeypatch.setattr(spade_module, "EDGE_SHARE_LIMIT", limit)
        spade.zero_grad()
        gamma, beta = spade.modulation(LabelPyramid(semantics, 19), size)
        (gamma * x + beta * x.square()).sum().backward()
        return gamma.detach(), beta.detach(), {n: p.grad.clone() for n, p in spade.named_parameters()}

    regions, plain = modulation_and_gradients(0.5), modulation_and_gradients(0.0)
    for ours, theirs in zip(regions[:2], plain[:2]):
        assert ours.shape == theirs.shape == (2, 16, *size)
        assert (ours - theirs).abs().max() <= 1e-5 * theirs.abs().max()
    for name, gradient in plain[2].items():
        assert (regions[2][name] - gradient).abs().max() <= 1e-5 * gradient.abs().max(), name
    assert not torch.equal(regions[0], plain[0])  # two computations, not one


def test_instance_edges_or_random_ids_keep_the_convolutions(monkeypatch):
    convolutions = []
    plain_conv2d = torch.nn.functional.conv2d
    monkeypatch.setattr(torch.nn.functional, "conv2d", lambda *a, **k: convolutions.append(1) or plain_conv2d(*a, **k))
    spade = SPADE("spadesyncbatch3x3", 8, 20)
    ids = torch.from_numpy(face_label_maps(1, 128, 128)).long()
    spade.modulation(LabelPyramid(one_hot(ids, 20), 20), (128, 128))
    assert len(convolutions) == 1  # the shortcut: only mlp_shared convolves
    with_edges = torch.cat((one_hot(ids, 19), torch.zeros(1, 1, 128, 128)), dim=1)
    spade.modulation(LabelPyramid(with_edges, 19), (128, 128))
    random_ids = torch.randint(0, 20, (1, 128, 128))
    spade.modulation(LabelPyramid(one_hot(random_ids, 20), 20), (128, 128))
    assert len(convolutions) == 1 + 3 + 3


@pytest.mark.parametrize("size", [(128, 128), (32, 32)])  # the region shortcut, and the plain convolutions
def test_batch_norm_folded_into_the_modulation_at_inference_equals_norm_then_modulation(size):
    torch.manual_seed(0)
    semantics = one_hot(torch.from_numpy(face_label_maps(2, 128, 128, seed=5)).long(), 19)
    spade = SPADE("spadesyncbatch3x3", 16, 19)
    for parameter in spade.parameters():
        torch.nn.init.normal_(parameter, std=0.2)
    for _ in range(3):  # running statistics away from (0, 1)
        spade(torch.randn(2, 16, *size) * 2 + 1, LabelPyramid(semantics, 19))
    spade.eval()
    x = torch.randn(2, 16, *size) * 2 + 1
    with torch.no_grad():
        folded = spade(x, LabelPyramid(semantics, 19))
        gamma, beta = spade.modulation(LabelPyramid(semantics, 19), size)
        separate = spade.param_free_norm(x) * (1 + gamma) + beta
    assert (folded - separate).abs().max() <= 1e-6 * separate.abs().max()
    assert spade.param_free_norm.running_var.sub(1).abs().max() > 0.5
