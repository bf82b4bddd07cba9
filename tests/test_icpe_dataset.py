"""CLADE-ICPE positional maps in the dataset (``--add_dist``): computed, precomputed, transformed, trained on."""
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

import data
from conftest import DATA64, run_script
from data.positional_offsets import flip_offsets_horizontally, positional_offsets
from data.preprocess import crop_and_flip, transform, transform_tensor
from options.base_options import PREPROCESS_MODES
from options.train_options import TrainOptions
from test_dataset_modes import make_celebamaskhq_root
from util.errors import UserError

CUSTOM = ["--gpu_ids", "-1", "--dataset_mode", "custom", "--label_nc", "19", "--no_instance", "--add_dist",
          "--norm_mode", "clade"]


def custom_dataset(labels=DATA64 / "labels", images=DATA64 / "images", *extra):
    opt = TrainOptions().parse([*CUSTOM, "--label_dir", labels, "--image_dir", images, *extra])
    return data.create_dataset(opt)


def seed_with_flip(flip: bool) -> int:
    """A sample seed whose draw flips (or does not flip) the sample."""
    opt = SimpleNamespace(preprocess_mode="resize_and_crop", load_size=64, crop_size=64)
    return next(seed for seed in range(100) if crop_and_flip(opt, (64, 64), random.Random(seed))["flip"] == flip)


def stored_label(dataset, index=0) -> np.ndarray:
    return np.asarray(Image.open(dataset.label_paths[index]))


def test_unflipped_sample_carries_the_labels_offsets():
    dataset = custom_dataset(DATA64 / "labels", DATA64 / "images", "--load_size", "64", "--crop_size", "64")
    sample = dataset[(3, seed_with_flip(False))]
    assert sample["dist"].dtype == torch.float32 and sample["dist"].shape == (2, 64, 64)
    np.testing.assert_allclose(sample["dist"].numpy(), positional_offsets(stored_label(dataset, 3)), atol=1e-6)


def test_flipped_sample_carries_the_flipped_labels_offsets():
    dataset = custom_dataset(DATA64 / "labels", DATA64 / "images", "--load_size", "64", "--crop_size", "64")
    sample = dataset[(3, seed_with_flip(True))]
    mirrored = stored_label(dataset, 3)[:, ::-1].copy()
    assert np.array_equal(sample["label"][0].numpy(), mirrored)
    np.testing.assert_allclose(sample["dist"].numpy(), positional_offsets(mirrored), atol=1e-6)


def test_resized_and_cropped_map_stays_aligned_with_the_label():
    dataset = custom_dataset(DATA64 / "labels", DATA64 / "images", "--load_size", "90", "--crop_size", "64")
    offsets = positional_offsets(stored_label(dataset, 5))
    for seed in range(4):
        sample = dataset[(5, seed)]
        params = crop_and_flip(dataset.opt, (64, 64), random.Random(seed))
        # the stored map resized, cropped and mirrored by PIL with the sample's draw
        expected = np.stack([np.asarray(transform(Image.fromarray(channel), dataset.opt, params, Image.NEAREST))
                             for channel in offsets])
        if params["flip"]:
            expected[1] *= -1
        assert sample["dist"].shape == (2, 64, 64)
        np.testing.assert_array_equal(sample["dist"].numpy(), expected)
        assert (sample["dist"][:, sample["label"][0] == 0] == 0).all()


@pytest.mark.parametrize("mode", PREPROCESS_MODES)
@pytest.mark.parametrize("flip", [False, True])
def test_tensor_geometry_equals_pil_geometry(mode, flip):
    """The float-map path picks exactly the pixels PIL picks for a label, in every preprocess mode."""
    opt = SimpleNamespace(preprocess_mode=mode, load_size=50, crop_size=32, aspect_ratio=2.0, isTrain=True,
                          no_flip=False)
    values = np.random.default_rng(0).random((2, 45, 70)).astype(np.float32)
    params = {"crop_pos": (7, 5), "flip": flip}
    expected = np.stack([np.asarray(transform(Image.fromarray(channel), opt, params, Image.NEAREST))
                         for channel in values])
    ours = transform_tensor(torch.from_numpy(values), opt, params, lambda t: t.flip(-1))
    assert np.array_equal(ours.numpy(), expected)


def test_precomputed_map_beside_the_labels_is_used(data64):
    marked = np.stack([np.full((64, 64), 0.25), np.full((64, 64), -0.5)]).astype(np.float32)
    (data64 / "dist").mkdir()
    np.save(data64 / "dist" / "00002.npy", marked)
    dataset = custom_dataset(data64 / "labels", data64 / "images", "--load_size", "64", "--crop_size", "64")
    np.testing.assert_array_equal(dataset[(2, seed_with_flip(False))]["dist"].numpy(), marked)
    np.testing.assert_array_equal(dataset[(2, seed_with_flip(True))]["dist"].numpy(),
                                  flip_offsets_horizontally(marked))
    # samples without a file are computed on the fly
    np.testing.assert_allclose(dataset[(1, seed_with_flip(False))]["dist"].numpy(),
                               positional_offsets(stored_label(dataset, 1)), atol=1e-6)


def test_dist_dir_flag_and_a_map_of_the_wrong_size(data64, tmp_path):
    maps = tmp_path / "maps"
    maps.mkdir()
    np.save(maps / "00000.npy", np.ones((2, 32, 32), np.float32))
    dataset = custom_dataset(data64 / "labels", data64 / "images", "--dist_dir", maps, "--load_size", "64",
                             "--crop_size", "64")
    with pytest.raises(UserError, match=r"00000\.npy has shape \(2, 32, 32\).*00000\.png.*compute_dist_maps"):
        dataset[0]
    with pytest.raises(UserError, match="--dist_dir .*nowhere is not a folder"):
        custom_dataset(data64 / "labels", data64 / "images", "--dist_dir", tmp_path / "nowhere")


def test_clade_icpe_training_run_on_celebamaskhq(tmp_path, monkeypatch):
    # one thread: tiny convolutions gain nothing from more, and spinning threads crawl on a busy machine
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    root = make_celebamaskhq_root(tmp_path / "CelebA-HQ")
    result = run_script("train.py", "--dataset_mode", "celebamaskhq", "--dataroot", root, "--add_dist",
                        "--norm_mode", "clade", "--gpu_ids", "-1", "--ngf", "8", "--ndf", "8", "--load_size", "64",
                        "--crop_size", "64", "--no_vgg_loss", "--batchSize", "2", "--niter", "1", "--name", "icpe",
                        "--checkpoints_dir", tmp_path / "checkpoints")
    assert result.returncode == 0, result.stderr[-2000:]
    weights = torch.load(tmp_path / "checkpoints" / "icpe" / "latest_net_G.pth", map_location="cpu")
    assert any(".dist_conv_w." in key for key in weights)


def test_clade_alignment_reproduces_clades_resize_of_the_maps(tmp_path):
    """128² labels at --load_size 64: 'label' keeps the map on the label's pixels, 'clade' picks what CLADE picks."""
    labels = tmp_path / "labels"
    labels.mkdir()
    for path in sorted((DATA64 / "labels").glob("*.png"))[:2]:
        Image.open(path).resize((128, 128), Image.NEAREST).save(labels / path.name)
    images = tmp_path / "images"
    images.mkdir()
    for path in sorted((DATA64 / "images").glob("*.jpg"))[:2]:
        Image.open(path).resize((128, 128)).save(images / path.name)
    flags = ["--load_size", "64", "--crop_size", "64", "--no_flip"]
    ours = custom_dataset(labels, images, *flags)[0]
    clade = custom_dataset(labels, images, *flags, "--dist_alignment", "clade")[0]
    offsets = torch.from_numpy(positional_offsets(np.asarray(Image.open(labels / "00000.png"))))
    # CLADE's dataset: F.interpolate(mode='nearest') of the stored [1, 2, 128, 128] map to load_size²
    expected = torch.nn.functional.interpolate(offsets[None], size=(64, 64), mode="nearest")[0]
    assert torch.equal(clade["dist"], expected)
    assert torch.equal(ours["dist"], offsets[:, 1::2, 1::2])  # PIL's nearest: the centre pixels, as the label's
    assert torch.equal(ours["label"], clade["label"])
    assert not torch.equal(ours["dist"], clade["dist"])
