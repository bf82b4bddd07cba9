"""Built-in dataset modes: folder layouts, file pairing and the reference's defaults (docs/reference.md §1.5, §8.5)."""
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

import data
from conftest import DATA64
from models.pix2pix_model import instance_edges
from options.test_options import TestOptions
from options.train_options import TrainOptions
from util.errors import UserError

SMALL = ["--gpu_ids", "-1", "--load_size", "64", "--crop_size", "64"]


def make_celebamaskhq_root(root, samples: int = 4):
    """The layout scripts/prepare_celebamaskhq.py writes, from the first ``samples`` toy samples."""
    stems = sorted(path.stem for path in (DATA64 / "labels").glob("*.png"))
    for phase, chosen in (("train", stems[:samples]), ("test", stems[samples:samples + 2])):
        for kind, suffix in (("images", ".jpg"), ("labels", ".png")):
            (root / phase / kind).mkdir(parents=True)
            for name in chosen:
                shutil.copy(DATA64 / kind / f"{name}{suffix}", root / phase / kind / f"{name}{suffix}")
    return root


def save_ids(path, ids):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(ids)).save(path)  # uint8 → 8-bit "L", uint16 → 16-bit "I;16"


def save_photo(path, size=(48, 32)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (120, 80, 40)).save(path)


def build(options_class, *argv):
    opt = options_class().parse([*argv])
    return opt, data.create_dataset(opt)


# ---- celebamaskhq -----------------------------------------------------------------------------------
def test_celebamaskhq_defaults_and_phases(tmp_path):
    root = make_celebamaskhq_root(tmp_path / "CelebA-HQ")
    opt, dataset = build(TrainOptions, "--dataset_mode", "celebamaskhq", "--dataroot", root, "--gpu_ids", "-1")
    assert (opt.label_nc, opt.no_instance, opt.contain_dontcare_label, opt.preprocess_mode) == \
        (19, True, False, "resize_and_crop")
    assert (opt.load_size, opt.crop_size, opt.display_winsize, opt.aspect_ratio, opt.semantic_nc) == \
        (256, 256, 256, 1.0, 19)
    assert [p.split("/")[-3:] for p in dataset.image_paths][0] == ["train", "images", "00000.jpg"]
    assert len(dataset) == 4
    sample = dataset[0]
    assert sample["label"].shape == (1, 256, 256) and sample["image"].shape == (3, 256, 256)

    _, test_set = build(TestOptions, "--dataset_mode", "celebamaskhq", "--dataroot", root, *SMALL)
    assert len(test_set) == 2 and all("/test/labels/" in path for path in test_set.label_paths)


def test_celebamaskhq_missing_phase_folder(tmp_path):
    root = make_celebamaskhq_root(tmp_path / "CelebA-HQ")
    with pytest.raises(UserError, match=r"has no val/labels/ folder.*prepare_celebamaskhq"):
        build(TrainOptions, "--dataset_mode", "celebamaskhq", "--dataroot", root, "--phase", "val", *SMALL)


# ---- coco ---------------------------------------------------------------------------------------------
def make_coco_root(root):
    for folder, stems in (("train", ["000000000009", "000000000025"]), ("train_portrait", ["portrait_1"]),
                          ("val", ["000000000139"])):
        phase, _, portrait = folder.partition("_")
        suffix = f"_{portrait}" if portrait else ""
        for stem in stems:
            save_ids(root / f"{phase}_label{suffix}" / f"{stem}.png", np.full((32, 48), 181, np.uint8))
            save_photo(root / f"{phase}_img{suffix}" / f"{stem}.jpg")
            save_ids(root / f"{phase}_inst{suffix}" / f"{stem}.png", np.full((32, 48), 3, np.uint8))
    return root


def test_coco_layout_portraits_and_defaults(tmp_path):
    root = make_coco_root(tmp_path / "coco")
    opt, dataset = build(TrainOptions, "--dataset_mode", "coco", "--dataroot", root, *SMALL)
    assert (opt.label_nc, opt.contain_dontcare_label, opt.no_instance, opt.semantic_nc) == (182, True, False, 184)
    assert opt.cache_filelist_read and opt.cache_filelist_write
    assert [p.rsplit("/", 1)[1] for p in dataset.label_paths] == ["000000000009.png", "000000000025.png",
                                                                  "portrait_1.png"]
    assert dataset.instance_paths[2].endswith("train_inst_portrait/portrait_1.png")
    assert dataset[0]["instance"].shape == (1, 64, 64)

    _, no_portraits = build(TrainOptions, "--dataset_mode", "coco", "--dataroot", root, "--coco_no_portraits", *SMALL)
    assert len(no_portraits) == 2
    opt, test_set = build(TestOptions, "--dataset_mode", "coco", "--dataroot", root, "--gpu_ids", "-1")
    assert (opt.load_size, opt.crop_size) == (256, 256)
    assert [p.rsplit("/", 2)[1] for p in test_set.image_paths] == ["val_img"]
    assert test_set.precomputed_dist_path(test_set.label_paths[0]) == str(root / "val_dist" / "000000000139.npy")


# ---- ade20k -------------------------------------------------------------------------------------------
def make_ade_root(root):
    for phase, folder in (("train", "training"), ("val", "validation")):
        for number in (1, 2):
            name = f"ADE_{phase}_{number:08d}"
            save_photo(root / "images" / folder / f"{name}.jpg")
            ids = np.zeros((32, 48), np.uint8)
            ids[:, :8] = 150  # the last ADE class: valid, it lands in the dontcare channel (see data/ade20k_dataset.py)
            save_ids(root / "annotations" / folder / f"{name}.png", ids)
    return root


@pytest.mark.parametrize("mode", ["ade20k", "ade20koutdoor"])
def test_ade20k_layout_and_defaults(tmp_path, mode):
    root = make_ade_root(tmp_path / "ADEChallengeData2016")
    opt, dataset = build(TrainOptions, "--dataset_mode", mode, "--dataroot", root, *SMALL)
    assert (opt.label_nc, opt.contain_dontcare_label, opt.no_instance, opt.semantic_nc) == (150, True, True, 151)
    assert not opt.cache_filelist_read and not opt.cache_filelist_write
    assert [p.rsplit("/", 1)[1] for p in dataset.label_paths] == ["ADE_train_00000001.png", "ADE_train_00000002.png"]
    assert all(p.endswith(".jpg") and "_train_" in p for p in dataset.image_paths)
    # stored ids are kept, as the reference's no-op postprocess does: 150 stays 150 (docs/reference.md §12.8)
    assert dataset[0]["label"].unique().tolist() == [0.0, 150.0]
    assert dataset.precomputed_dist_path(dataset.label_paths[0]) == \
        str(root / "distances" / "training" / "ADE_train_00000001.npy")

    _, test_set = build(TestOptions, "--dataset_mode", mode, "--dataroot", root, "--gpu_ids", "-1")
    assert [p.rsplit("/", 1)[1] for p in test_set.label_paths] == ["ADE_val_00000001.png", "ADE_val_00000002.png"]


# ---- cityscapes ---------------------------------------------------------------------------------------
def make_cityscapes_root(root):
    for phase, city, frames in (("train", "aachen", (19, 20)), ("val", "frankfurt", (294,))):
        for frame in frames:
            name = f"{city}_000000_{frame:06d}"
            save_photo(root / "leftImg8bit" / phase / city / f"{name}_leftImg8bit.png", size=(64, 32))
            save_ids(root / "gtFine" / phase / city / f"{name}_gtFine_labelIds.png", np.full((32, 64), 26, np.uint8))
            instance = np.full((32, 64), 26000, np.uint16)
            instance[:, 40:] = 26001  # two cars: ids above 255 need the 16-bit map
            save_ids(root / "gtFine" / phase / city / f"{name}_gtFine_instanceIds.png", instance)
            save_ids(root / "gtFine" / phase / city / f"{name}_gtFine_color.png", np.zeros((32, 64, 3), np.uint8))
    return root


def test_cityscapes_layout_pairing_and_defaults(tmp_path):
    root = make_cityscapes_root(tmp_path / "cityscapes")
    opt, dataset = build(TrainOptions, "--dataset_mode", "cityscapes", "--dataroot", root, "--gpu_ids", "-1")
    assert (opt.preprocess_mode, opt.load_size, opt.crop_size, opt.aspect_ratio) == ("fixed", 512, 512, 2.0)
    assert (opt.label_nc, opt.batchSize, opt.num_upsampling_layers, opt.display_winsize) == (35, 16, "more", 512)
    assert len(dataset) == 2
    assert all(p.endswith("_gtFine_labelIds.png") for p in dataset.label_paths)
    assert dataset.paths_match(dataset.label_paths[1], dataset.image_paths[1])
    assert not dataset.paths_match(dataset.label_paths[0], dataset.image_paths[1])
    assert dataset.precomputed_dist_path(dataset.label_paths[0]).endswith("aachen_000000_000019_gtFine_distance.npy")

    opt, test_set = build(TestOptions, "--dataset_mode", "cityscapes", "--dataroot", root, "--gpu_ids", "-1",
                          "--crop_size", "64")
    assert opt.num_upsampling_layers == "more" and len(test_set) == 1
    assert test_set[0]["image"].shape == (3, 32, 64)  # fixed: crop_size wide, crop_size / aspect_ratio high


def test_16_bit_instance_ids_survive_loading(tmp_path):
    root = make_cityscapes_root(tmp_path / "cityscapes")
    _, dataset = build(TestOptions, "--dataset_mode", "cityscapes", "--dataroot", root, "--gpu_ids", "-1",
                       "--crop_size", "64")
    assert Image.open(dataset.instance_paths[0]).mode == "I;16"
    instance = dataset[0]["instance"]
    assert instance.dtype == torch.int64 and instance.unique().tolist() == [26000, 26001]
    edges = instance_edges(instance[None])
    # one vertical boundary between the two cars: columns 39 and 40 on every row, nothing else
    assert edges.sum().item() == 2 * 32 and edges[0, 0, :, 39:41].all()


def test_unknown_mode_lists_the_modes():
    with pytest.raises(UserError, match="celebamaskhq.*cityscapes"):
        TrainOptions().parse(["--dataset_mode", "facade", "--gpu_ids", "-1"])
