"""Each loss formula against a hand computation on small tensors (docs/reference.md §4)."""
import math

import pytest
import torch
import torchvision

from models.networks.loss import FeatureMatchingLoss, GANLoss, KLDLoss
from models.networks.vgg import SLICE_ENDS, VGGLoss
from util.errors import UserError

D_OUT = torch.tensor([[-2.0, -0.5], [0.25, 3.0]])  # one patch map, values on both sides of the margins


def test_hinge():
    loss = GANLoss("hinge")
    # D, real: mean(relu(1 - x)) = (3 + 1.5 + 0.75 + 0) / 4
    assert loss(D_OUT, True, True).item() == pytest.approx(5.25 / 4)
    # D, fake: mean(relu(1 + x)) = (0 + 0.5 + 1.25 + 4) / 4
    assert loss(D_OUT, False, True).item() == pytest.approx(5.75 / 4)
    # G: -mean(x)
    assert loss(D_OUT, True, False).item() == pytest.approx(-0.75 / 4)


def test_original_is_binary_cross_entropy_on_logits():
    loss = GANLoss("original")
    values = D_OUT.flatten().tolist()
    real = sum(-math.log(1 / (1 + math.exp(-x))) for x in values) / 4
    fake = sum(-math.log(1 - 1 / (1 + math.exp(-x))) for x in values) / 4
    assert loss(D_OUT, True).item() == pytest.approx(real, rel=1e-6)
    assert loss(D_OUT, False).item() == pytest.approx(fake, rel=1e-6)


def test_least_squares_and_wasserstein():
    values = D_OUT.flatten().tolist()
    assert GANLoss("ls")(D_OUT, True).item() == pytest.approx(sum((x - 1) ** 2 for x in values) / 4)
    assert GANLoss("ls")(D_OUT, False).item() == pytest.approx(sum(x ** 2 for x in values) / 4)
    assert GANLoss("w")(D_OUT, True).item() == pytest.approx(-0.75 / 4)
    assert GANLoss("w")(D_OUT, False).item() == pytest.approx(0.75 / 4)


def test_multiscale_uses_last_output_and_averages_scales():
    scale_a = [torch.full((1, 1, 2, 2), 100.0), torch.full((1, 1, 2, 2), 2.0)]  # feature, then prediction
    scale_b = [torch.full((1, 1, 3, 3), -7.0), torch.full((1, 1, 1, 1), -1.0)]
    # hinge D real: scale a: relu(1-2) = 0; scale b: relu(1+1) = 2 → average 1
    assert GANLoss("hinge")([scale_a, scale_b], True, True).item() == pytest.approx(1.0)


def test_feature_matching_sums_layers_and_averages_scales():
    fake = [[torch.zeros(1, 2, 2, 2), torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 1, 1)],
            [torch.full((1, 1, 2, 2), 3.0), torch.zeros(1, 1, 1, 1)]]
    real = [[torch.ones(1, 2, 2, 2), torch.full((1, 1, 2, 2), 3.0), torch.full((1, 1, 1, 1), 9.0)],
            [torch.zeros(1, 1, 2, 2), torch.full((1, 1, 1, 1), 9.0)]]
    # scale 0: |0-1| + |1-3| = 3 (last outputs ignored); scale 1: |3-0| = 3; mean over 2 scales = 3
    assert FeatureMatchingLoss()(fake, real).item() == pytest.approx(3.0)


def test_kld_is_summed():
    mu = torch.tensor([[0.5, -1.0]])
    logvar = torch.tensor([[0.0, math.log(2.0)]])
    expected = -0.5 * ((1 + 0 - 0.25 - 1) + (1 + math.log(2.0) - 1 - 2))
    assert KLDLoss()(mu, logvar).item() == pytest.approx(expected)


@pytest.fixture
def vgg_file(tmp_path):
    """Random VGG19 feature weights of the right architecture (no download here)."""
    torch.manual_seed(0)
    features = torchvision.models.vgg19(weights=None).features[:SLICE_ENDS[-1]]
    path = tmp_path / "vgg19_random.pth"
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, path)
    return path


def test_vgg_loss_is_weighted_sum_of_feature_l1(vgg_file):
    loss = VGGLoss(str(vgg_file))
    torch.manual_seed(1)
    fake, real = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    expected, x, y = 0.0, fake, real
    for weight, block in zip((1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0), loss.slices):
        x, y = block(x), block(y)
        expected += weight * (x - y).abs().mean().item()
    assert loss(fake, real).item() == pytest.approx(expected, rel=1e-5)
    assert loss(real, real).item() == 0.0
    assert not any(p.requires_grad for p in loss.parameters())


def test_vgg_weights_missing_gives_the_sentence(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")
    with pytest.raises(UserError) as error:
        VGGLoss()
    message = str(error.value)
    assert "vgg19-dcbb9e9d.pth" in message and str(tmp_path / "hub") in message and "--vgg_weights" in message
    with pytest.raises(UserError, match="--vgg_weights file"):
        VGGLoss(str(tmp_path / "nowhere.pth"))
