"""Checking every file before training: one sentence per problem, naming the file and the fix."""
import numpy as np
import pytest
from PIL import Image

import data
from conftest import run_script
from data.validation import inspect_dataset, validate_dataset
from options.test_options import TestOptions
from options.train_options import TrainOptions
from util.errors import UserError

FLAGS = ["--gpu_ids", "-1", "--dataset_mode", "custom", "--label_nc", "19", "--no_instance", "--load_size", "64",
         "--crop_size", "64", "--name", "check"]


def options(data64, *extra, flags=FLAGS):
    """Training options for the toy samples, with a run folder in the test's temporary folder."""
    return TrainOptions().parse([*flags, "--label_dir", data64 / "labels", "--image_dir", data64 / "images",
                                 "--checkpoints_dir", data64.parent / "checkpoints", *extra])


def checked(data64, *extra):
    """validate_dataset on the toy samples; returns the UserError's sentence (or None when all is fine)."""
    opt = options(data64, *extra)
    try:
        validate_dataset(data.create_dataset(opt), opt, progress=False)
    except UserError as error:
        return str(error)
    return None


def edit_label(path, edit):
    ids = np.asarray(Image.open(path)).copy()
    edit(ids)
    Image.fromarray(ids).save(path)


def test_clean_dataset_passes_and_is_described(data64):
    opt = options(data64)
    report = validate_dataset(data.create_dataset(opt), opt, progress=False)
    assert (report.samples, report.files, report.problems) == (16, 32, [])
    assert report.image_sizes == {(64, 64): 16} and report.label_sizes == {(64, 64): 16}
    assert sum(report.class_pixels.values()) == 16 * 64 * 64 and max(report.class_pixels) == 18


def test_truncated_jpeg(data64):
    photo = data64 / "images" / "00006.jpg"
    photo.write_bytes(photo.read_bytes()[:-200])
    assert_sentence(checked(data64), "cannot read", "00006.jpg", "truncated", "replace or remove")


def test_truncated_png_label(data64):
    label = data64 / "labels" / "00007.png"
    label.write_bytes(label.read_bytes()[: label.stat().st_size // 2])
    assert_sentence(checked(data64), "cannot read", "00007.png", "replace or remove")


def test_colour_label_map(data64):
    label = data64 / "labels" / "00008.png"
    Image.open(label).convert("RGB").save(label)
    assert_sentence(checked(data64), "00008.png", "looks like a colour visualisation", "not vis/")


def test_label_id_out_of_range(data64):
    edit_label(data64 / "labels" / "00009.png", lambda ids: ids.__setitem__((3, 3), 42))
    assert_sentence(checked(data64), "00009.png", "class id 42", "--label_nc", "at least 43")


def test_dontcare_id_without_its_flag(data64):
    edit_label(data64 / "labels" / "00010.png", lambda ids: ids.__setitem__((3, 3), 255))
    assert_sentence(checked(data64), "00010.png", "255", "--contain_dontcare_label")
    assert checked(data64, "--contain_dontcare_label") is None


def test_label_and_image_sizes_disagree(data64):
    photo = data64 / "images" / "00011.jpg"
    Image.open(photo).resize((80, 64)).save(photo)
    assert_sentence(checked(data64), "00011.png is 64x64", "00011.jpg is 80x64", "resize")


def checked_with_instances(data64, odd_instance: Image.Image):
    """validate_dataset with an instance folder whose map for 00012 is ``odd_instance``."""
    instances = data64 / "instances"
    instances.mkdir()
    for label in sorted((data64 / "labels").glob("*.png")):
        (odd_instance if label.stem == "00012" else Image.new("L", (64, 64))).save(instances / label.name)
    assert checked(data64, "--instance_dir", instances) is None  # --no_instance: instance maps are not read
    with_instances = [flag for flag in FLAGS if flag != "--no_instance"]
    opt = options(data64, "--instance_dir", instances, flags=with_instances)
    with pytest.raises(UserError) as error:
        validate_dataset(data.create_dataset(opt), opt, progress=False)
    return str(error.value)


def test_instance_map_of_another_size(data64):
    sentence = checked_with_instances(data64, Image.new("L", (32, 32)))
    assert_sentence(sentence, "00012.png is 64x64", "its instance map", "instances/00012.png is 32x32")


def test_colour_instance_map(data64):
    sentence = checked_with_instances(data64, Image.new("RGB", (64, 64)))
    assert_sentence(sentence, "instances/00012.png is a colour image (RGB)", "single-channel")


def test_positional_map_of_the_wrong_shape(data64):
    (data64 / "dist").mkdir()
    np.save(data64 / "dist" / "00013.npy", np.zeros((2, 64, 32), np.float32))
    assert checked(data64) is None  # the map is only read with --add_dist
    assert_sentence(checked(data64, "--add_dist"), "00013.npy has shape (2, 64, 32)", "compute_dist_maps.py")


def test_every_problem_is_listed_and_training_stops_at_the_first(data64):
    edit_label(data64 / "labels" / "00001.png", lambda ids: ids.__setitem__((0, 0), 30))
    edit_label(data64 / "labels" / "00002.png", lambda ids: ids.__setitem__((0, 0), 31))
    edit_label(data64 / "labels" / "00003.png", lambda ids: ids.__setitem__((0, 0), 32))
    opt = options(data64)
    dataset = data.create_dataset(opt)
    problems = inspect_dataset(dataset, opt, progress=False).problems
    assert [p.split("contains class id ")[1][:2] for p in problems] == ["30", "31", "32"]
    with pytest.raises(UserError) as error:
        validate_dataset(dataset, opt, progress=False)
    assert_sentence(str(error.value), "00001.png", "class id 30", "2 more problems", "scripts/check_dataset.py")


def test_a_passed_check_is_skipped_while_the_files_are_unchanged(data64):
    (data64.parent / "checkpoints" / "check").mkdir(parents=True)
    opt = options(data64)
    dataset = data.create_dataset(opt)
    assert not validate_dataset(dataset, opt, progress=False).from_cache
    assert validate_dataset(dataset, opt, progress=False).from_cache
    edit_label(data64 / "labels" / "00014.png", lambda ids: ids.__setitem__((0, 0), 99))
    with pytest.raises(UserError, match="00014.png contains class id 99"):
        validate_dataset(dataset, opt, progress=False)


def test_no_validation_flag_is_a_training_flag():
    assert TrainOptions().parse([*FLAGS, "--label_dir", "l", "--image_dir", "i", "--no_validation"]).no_validation
    assert not hasattr(TestOptions().parse([*FLAGS, "--label_dir", "l", "--image_dir", "i"]), "no_validation")


def test_check_dataset_script_summary(data64):
    result = run_script("scripts/check_dataset.py", *FLAGS, "--label_dir", data64 / "labels",
                        "--image_dir", data64 / "images")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "16 samples" in out and "32 files checked" in out and "64x64: 16" in out
    assert " skin " in out and " cloth " in out and "absent: 3 eye_g, 16 neck_l" in out
    assert "no problems found" in out


def test_check_dataset_script_lists_every_problem(data64):
    Image.open(data64 / "labels" / "00004.png").convert("RGB").save(data64 / "labels" / "00004.png")
    edit_label(data64 / "labels" / "00005.png", lambda ids: ids.__setitem__((0, 0), 77))
    result = run_script("scripts/check_dataset.py", *FLAGS, "--label_dir", data64 / "labels",
                        "--image_dir", data64 / "images")
    assert result.returncode == 1
    assert "2 problems:" in result.stdout
    assert "00004.png" in result.stdout and "class id 77" in result.stdout


def assert_sentence(sentence, *fragments):
    assert sentence is not None, "no problem was reported"
    assert sentence.replace("e.g. ", "").count(". ") == 0 and sentence.endswith("."), sentence
    for fragment in fragments:
        assert fragment in sentence, (fragment, sentence)
