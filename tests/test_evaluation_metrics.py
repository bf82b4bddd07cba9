"""The evaluation's figures against hand computations and against the libraries they come from."""
import itertools

import numpy as np
import pytest
import torch

from util.kid import kernel_inception_distance
from util.lpips_diversity import load_lpips, mean_pairwise_lpips
from util.segmentation_metrics import ConfusionMatrix


def test_confusion_matrix_scores_equal_a_hand_computation():
    target = torch.tensor([[0, 0, 1, 1], [2, 255, 0, 1]])
    predicted = torch.tensor([[0, 1, 1, 2], [2, 0, 9, 1]])  # 9: a class the dataset does not have
    matrix = ConfusionMatrix(4)  # class 3 occurs nowhere
    matrix.add(predicted, target)
    # pixels that count (target 255 ignored): (0,0) (0,1) (1,1) (1,2) (2,2) (0,miss) (1,1)
    # class 0: tp 1, in target 3, predicted 1 -> 1 / 3;  class 1: tp 2, target 3, predicted 3 -> 2 / 4
    # class 2: tp 1, target 1, predicted 2 -> 1 / 2;     class 3: nowhere -> not counted
    iou = matrix.per_class_iou()
    assert iou[:3] == pytest.approx([1 / 3, 2 / 4, 1 / 2])
    assert np.isnan(iou[3])
    assert matrix.mean_iou() == pytest.approx((1 / 3 + 2 / 4 + 1 / 2) / 3)
    assert matrix.pixel_accuracy() == pytest.approx(4 / 7)


def test_confusion_matrix_adds_up_batches_like_one():
    rng = np.random.default_rng(0)
    target = torch.from_numpy(rng.integers(0, 5, (6, 8, 8)))
    predicted = torch.from_numpy(rng.integers(0, 5, (6, 8, 8)))
    whole, parts = ConfusionMatrix(5), ConfusionMatrix(5)
    whole.add(predicted, target)
    for p, t in zip(predicted.split(2), target.split(2)):
        parts.add(p, t)
    assert np.array_equal(whole.counts, parts.counts)
    assert whole.counts.sum() == 6 * 64


def unbiased_mmd2(x, y):
    """Bińkowski et al.'s unbiased MMD² with the kernel (x·y / d + 1)³, written out."""
    d = x.shape[1]
    kernel = lambda a, b: (a @ b.T / d + 1) ** 3  # noqa: E731
    m, n = len(x), len(y)
    kxx, kyy, kxy = kernel(x, x), kernel(y, y), kernel(x, y)
    return ((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
            - 2 * kxy.mean())


def test_kid_with_whole_sets_equals_the_unbiased_mmd_written_out():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(20, 16)), rng.normal(0.3, 1.0, size=(20, 16))
    mean, std = kernel_inception_distance(a, b, subsets=3, subset_size=20)
    assert mean == pytest.approx(unbiased_mmd2(a, b), rel=1e-9)
    assert std == pytest.approx(0.0, abs=1e-12)  # every subset is the whole set


def test_kid_equals_torch_fidelity_on_the_same_features():
    from torch_fidelity.metric_kid import kid_features_to_metric

    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(40, 32)), rng.normal(0.2, 1.1, size=(50, 32))
    expected = kid_features_to_metric(torch.from_numpy(a), torch.from_numpy(b), kid_subsets=100, kid_subset_size=30,
                                      verbose=False)
    mean, std = kernel_inception_distance(a, b, subsets=100, subset_size=30)
    assert mean == expected["kernel_inception_distance_mean"]
    assert std == expected["kernel_inception_distance_std"]


@pytest.fixture(scope="module")
def alexnet_file(tmp_path_factory):
    """A random-weight stand-in for torchvision's alexnet-owt-7be5be79.pth, in a torch hub cache of its own."""
    import torchvision

    hub = tmp_path_factory.mktemp("torch_home") / "hub"
    path = hub / "checkpoints" / "alexnet-owt-7be5be79.pth"
    path.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), path)
    return path


def test_lpips_equals_the_library_loading_its_own_trunk(alexnet_file, monkeypatch):
    import warnings

    import lpips

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(alexnet_file.parents[1]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        library = lpips.LPIPS(net="alex", verbose=False).eval()  # finds the file in the hub cache, as users have it
    ours = load_lpips(alexnet_file)
    rng = torch.Generator().manual_seed(3)
    pictures = torch.rand(4, 3, 64, 64, generator=rng) * 2 - 1
    with torch.no_grad():
        pairs = list(itertools.combinations(range(4), 2))
        expected = np.mean([float(library(pictures[i:i + 1], pictures[j:j + 1])) for i, j in pairs])
    assert mean_pairwise_lpips(ours, pictures) == pytest.approx(expected, rel=1e-5)
    assert expected > 0
