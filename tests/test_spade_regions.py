"""SPADE's modulation computed per class and per distinct class window equals the plain convolutions."""
import sys

import pytest
import torch

from conftest import REPO
from models.networks.label_pyramid import LabelPyramid
from models.networks.spade import SPADE

sys.path.append(str(REPO / "scripts"))  # after the repository: scripts/editor.py must not hide the editor package
from make_demo_dataset import face_label_maps  # noqa: E402


def one_hot(ids: torch.Tensor, classes: int) -> torch.Tensor:
    return torch.zeros(ids.size(0), classes, *ids.shape[1:]).scatter_(1, ids.unsqueeze(1), 1.0)


def windows_by_hand(ids: torch.Tensor, classes: int) -> dict:
    """{(image, row, column): the nine classes of its 3×3 window, ``classes`` outside the picture}."""
    b, h, w = ids.shape
    return {(i, r, c): tuple(int(ids[i, r + dr, c + dc]) if 0 <= r + dr < h and 0 <= c + dc < w else classes
                             for dr in (-1, 0, 1) for dc in (-1, 0, 1))
            for i in range(b) for r in range(h) for c in range(w)}


def decoded(window_codes: torch.Tensor, classes: int) -> tuple:
    return tuple(classes if code == 9 * classes else code - tap * classes for tap, code in enumerate(window_codes.tolist()))


@pytest.mark.parametrize("classes", [4, 130])  # 130: too many classes to read a window as one 64-bit number
def test_edge_pixels_and_the_distinct_windows_around_their_neighbours(classes):
    ids = torch.zeros(2, 10, 12, dtype=torch.long)
    ids[:, :, 7:] = 3  # a vertical edge between columns 6 and 7
    ids[1, 4:6, 2:4] = classes - 1  # a small square in the second map
    windows = LabelPyramid(one_hot(ids, classes), classes).edge_windows((10, 12))

    inside = torch.zeros(10, 12, dtype=torch.bool)  # 5×5 window of one class, within the picture
    inside[2:8, 2:5] = True
    inside[2:8, 9:10] = True
    second = inside.clone()
    second[2:8, 2:5] = False  # the square is within 2 pixels of all of them
    assert windows.edge.tolist() == torch.nonzero(torch.stack((~inside, ~second)).flatten()).flatten().tolist()

    by_hand = windows_by_hand(ids, classes)
    distinct = [decoded(row, classes) for row in windows.windows]
    assert sorted(distinct) == sorted(set(by_hand.values()))
    assert (3,) * 9 in distinct and (0, 0, 3) * 3 in distinct and (classes, classes, classes, 0, 0, 0, 0, 0, 0) in distinct
    u = len(distinct)
    for pixel, taps in zip(windows.edge.tolist(), windows.edge_taps.tolist()):
        image, rest = divmod(pixel, 120)
        row, column = divmod(rest, 12)
        for tap, code in enumerate(taps):
            window, code_tap = divmod(code, 9)
            assert code_tap == tap
            r, c = row + tap // 3 - 1, column + tap % 3 - 1
            if 0 <= r < 10 and 0 <= c < 12:
                assert distinct[window] == by_hand[(image, r, c)]
            else:
                assert window == u


def modulation_and_gradients(spade, semantics, classes, x, monkeypatch, by_regions: bool):
    monkeypatch.setattr(SPADE, "_by_regions", lambda self, labels, size: by_regions)
    spade.zero_grad()
    gamma, beta = spade.modulation(LabelPyramid(semantics, classes), x.shape[2:])
    (gamma * x + beta * x.square()).sum().backward()
    return gamma.detach(), beta.detach(), {n: p.grad.clone() for n, p in spade.named_parameters()}


def random_spade(channels: int, classes: int) -> SPADE:
    spade = SPADE("spadesyncbatch3x3", channels, classes)
    for parameter in spade.parameters():
        torch.nn.init.normal_(parameter, std=0.2)
    return spade


@pytest.mark.parametrize("layout, size", [("faces", (128, 128)), ("faces", (96, 128)), ("faces", (8, 8)),
                                          ("random ids", (32, 32)), ("140 classes", (32, 48))])
def test_modulation_by_windows_equals_the_convolutions_with_their_gradients(layout, size, monkeypatch):
    torch.manual_seed(0)
    classes = 140 if layout == "140 classes" else 19
    if layout == "faces":
        ids = torch.from_numpy(face_label_maps(2, 128, 128, seed=3)).long()
    else:
        ids = torch.randint(0, classes, (2, 64, 64))
    # in float64: the two differ only in the order of their sums, far below any tolerance that fits
    # float32 gradients summed over 32768 pixels in whatever order the thread count gives
    semantics = one_hot(ids, classes).double()
    spade = random_spade(16, classes).double()
    x = torch.randn(2, 16, *size, dtype=torch.float64)
    ours = modulation_and_gradients(spade, semantics, classes, x, monkeypatch, by_regions=True)
    plain = modulation_and_gradients(spade, semantics, classes, x, monkeypatch, by_regions=False)
    for mine, theirs in zip(ours[:2], plain[:2]):
        assert mine.shape == theirs.shape == (2, 16, *size) and mine.dtype == torch.float64
        assert (mine - theirs).abs().max() <= 1e-12 * theirs.abs().max()
    for name, gradient in plain[2].items():
        assert (ours[2][name] - gradient).abs().max() <= 1e-12 * gradient.abs().max(), name
    assert not torch.equal(ours[0], plain[0])  # two computations, not one


def test_the_shortcut_runs_no_convolution_and_instance_edges_keep_the_convolutions(monkeypatch):
    convolutions = []
    plain_conv2d = torch.nn.functional.conv2d
    monkeypatch.setattr(torch.nn.functional, "conv2d", lambda *a, **k: convolutions.append(1) or plain_conv2d(*a, **k))
    spade = SPADE("spadesyncbatch3x3", 8, 20)
    ids = torch.from_numpy(face_label_maps(1, 128, 128)).long()
    spade.modulation(LabelPyramid(one_hot(ids, 20), 20), (128, 128))
    assert not convolutions
    with_edges = torch.cat((one_hot(ids, 19), torch.zeros(1, 1, 128, 128)), dim=1)
    spade.modulation(LabelPyramid(with_edges, 19), (128, 128))
    assert len(convolutions) == 3  # mlp_shared, mlp_gamma, mlp_beta


@pytest.mark.parametrize("by_regions", [True, False])
def test_batch_norm_folded_into_the_modulation_at_inference_equals_norm_then_modulation(by_regions, monkeypatch):
    monkeypatch.setattr(SPADE, "_by_regions", lambda self, labels, size: by_regions)
    size = (64, 64)
    torch.manual_seed(0)
    semantics = one_hot(torch.from_numpy(face_label_maps(2, 128, 128, seed=5)).long(), 19)
    spade = random_spade(16, 19)
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
