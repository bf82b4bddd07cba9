"""Bad input stops with one clear sentence naming the culprit, exit code 1, no traceback."""

import numpy as np
import pytest
from PIL import Image

from conftest import FIXTURE_FLAGS, assert_one_sentence, copy_reference_run, run_script


def run_test_py(tmp_path, labels, images, *extra, name="g_clade", norm_mode="clade"):
    return run_script("test.py", "--name", name, *FIXTURE_FLAGS, "--norm_mode", norm_mode,
                      "--checkpoints_dir", tmp_path / "checkpoints", "--results_dir", tmp_path / "results",
                      "--label_dir", labels, "--image_dir", images, *extra)


@pytest.fixture
def reference_run(tmp_path):
    return copy_reference_run("g_clade", tmp_path / "checkpoints")


def test_missing_label_folder(tmp_path, data64, reference_run):
    result = run_test_py(tmp_path, tmp_path / "nowhere", data64 / "images")
    assert_one_sentence(result, "--label_dir", "nowhere", "not a folder")


def test_empty_image_folder(tmp_path, data64, reference_run):
    (tmp_path / "empty").mkdir()
    result = run_test_py(tmp_path, data64 / "labels", tmp_path / "empty")
    assert_one_sentence(result, "--image_dir", "empty", "holds no files")


def test_unpaired_names_name_both_files(tmp_path, data64, reference_run):
    (data64 / "images" / "00003.jpg").rename(data64 / "images" / "00003b.jpg")
    result = run_test_py(tmp_path, data64 / "labels", data64 / "images")
    assert_one_sentence(result, "00003.png", "00003b.jpg", "--no_pairing_check")


def test_count_mismatch(tmp_path, data64, reference_run):
    (data64 / "images" / "00015.jpg").unlink()
    result = run_test_py(tmp_path, data64 / "labels", data64 / "images")
    assert_one_sentence(result, "16 label files", "15 images")


def test_label_id_out_of_range_names_file_and_id(tmp_path, data64, reference_run):
    label = np.asarray(Image.open(data64 / "labels" / "00002.png")).copy()
    label[0, 0] = 23
    Image.fromarray(label).save(data64 / "labels" / "00002.png")
    result = run_test_py(tmp_path, data64 / "labels", data64 / "images")
    assert_one_sentence(result, "00002.png", "class id 23", "--label_nc")


def test_dontcare_id_without_flag(tmp_path, data64, reference_run):
    label = np.asarray(Image.open(data64 / "labels" / "00004.png")).copy()
    label[5, 5] = 255
    Image.fromarray(label).save(data64 / "labels" / "00004.png")
    result = run_test_py(tmp_path, data64 / "labels", data64 / "images")
    assert_one_sentence(result, "00004.png", "255", "--contain_dontcare_label")


def test_missing_checkpoint(tmp_path, data64, reference_run):
    result = run_test_py(tmp_path, data64 / "labels", data64 / "images", "--which_epoch", "7")
    assert_one_sentence(result, "7_net_G.pth", "does not exist", "latest", "--which_epoch")


def test_checkpoint_of_other_norm_mode(tmp_path, data64, reference_run):
    result = run_test_py(tmp_path, data64 / "labels", data64 / "images", norm_mode="spade")
    assert_one_sentence(result, "latest_net_G.pth", "--norm_mode")


def test_checkpoint_of_other_width(tmp_path, data64, reference_run):
    result = run_test_py(tmp_path, data64 / "labels", data64 / "images", "--ngf", "16")
    assert_one_sentence(result, "latest_net_G.pth", "--ngf")


def test_checkpoint_of_other_label_count(tmp_path, data64, reference_run):
    result = run_test_py(tmp_path, data64 / "labels", data64 / "images", "--label_nc", "20")
    assert_one_sentence(result, "latest_net_G.pth", "--label_nc")


def test_crop_size_the_generator_cannot_produce(tmp_path, data64, reference_run):
    result = run_test_py(tmp_path, data64 / "labels", data64 / "images", "--crop_size", "50")
    assert_one_sentence(result, "--crop_size 50", "multiple of 32")


def test_damaged_checkpoint_is_reported_and_left_alone(tmp_path, data64, reference_run):
    damaged = reference_run / "latest_net_G.pth"
    damaged.write_bytes(b"not a checkpoint")
    result = run_test_py(tmp_path, data64 / "labels", data64 / "images")
    assert_one_sentence(result, "latest_net_G.pth", "cannot be read")
    assert damaged.read_bytes() == b"not a checkpoint"
