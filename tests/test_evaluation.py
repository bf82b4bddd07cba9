"""FID during training (--train_eval) and in test.py (--compute_fid), with a random-weight Inception."""
import argparse
import os
import shutil
import subprocess
import sys

import pytest
import torch

from conftest import DATA64, FIXTURE_FLAGS, REPO, assert_same_weights, run_script, train_flags
from models.evaluator import best_from_eval_log, validation_options
from options.persistence import load_size_at_test_time
from util import fid
from util.errors import UserError

SMALL = ["--max_dataset_size", "4", "--eval_dims", "64", "--save_epoch_freq", "1"]


@pytest.fixture(scope="module")
def evaluated_run(tmp_path_factory, inception_file):
    """Two epochs of 2 iterations, FID after each."""
    checkpoints = tmp_path_factory.mktemp("evaluated")
    result = run_script("train.py", "--name", "run", *train_flags(checkpoints), *SMALL, "--niter", "2", "--train_eval",
                        "--eval_epoch_freq", "1", "--fid_weights", inception_file, "--tf_log")
    assert result.returncode == 0, result.stderr
    return checkpoints / "run", result.stdout


def eval_rows(folder):
    lines = (folder / "eval_log.txt").read_text().splitlines()
    assert lines[0].split() == ["epoch", "iteration", "FID", "best_FID", "weights"]
    return [line.split() for line in lines[1:]]


def test_train_eval_logs_every_evaluation_and_keeps_the_best(evaluated_run):
    folder, stdout = evaluated_run
    rows = eval_rows(folder)
    assert [(row[0], row[1], row[4]) for row in rows] == [("1", "2", "G"), ("2", "4", "G")]
    fids = [float(row[2]) for row in rows]
    assert [float(row[3]) for row in rows] == [fids[0], min(fids)]
    best = torch.load(folder / "latest_training_state.pth", weights_only=False)["evaluation"]
    assert f"{best['best_fid']:.3f}" == rows[1][3]
    for label in ("G", "D"):
        assert_same_weights(folder / f"best_net_{label}.pth", folder / f"{best['best_epoch']}_net_{label}.pth")
    assert "FID: real statistics of 4 validation images" in stdout
    assert f"FID {fids[1]:.3f} at epoch 2 (best {min(fids):.3f} at epoch {best['best_epoch']};" in stdout
    assert "measured on the training images" in stdout
    mu, sigma = fid.load_statistics(folder / "fid_real_stats_64.npz")
    assert mu.shape == (64,) and sigma.shape == (64, 64)

    loss_log = (folder / "loss_log.txt").read_text()
    assert f"(epoch: 1, curr FID: {fids[0]:.3f}, previous best FID: inf) \n" in loss_log
    assert f"(epoch: 2, curr FID: {fids[1]:.3f}, previous best FID: {fids[0]:.3f}) \n" in loss_log

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder / "logs"))
    events.Reload()
    scalars = events.Scalars("eval/FID")
    assert [event.step for event in scalars] == [2, 4]
    assert [event.value for event in scalars] == pytest.approx(fids, abs=1e-3)


def test_best_fid_survives_resume_and_is_replaced_only_by_a_lower_one(evaluated_run, inception_file, tmp_path):
    folder = shutil.copytree(evaluated_run[0], tmp_path / "run")
    state_file = folder / "latest_training_state.pth"
    state = torch.load(state_file, weights_only=False)
    # a best no real evaluation can beat: the resumed run must keep it and its checkpoint
    state["evaluation"] = {"best_fid": 0.0, "best_epoch": 1}
    torch.save(state, state_file)
    best_before = (folder / "best_net_G.pth").read_bytes()

    resumed = run_script("train.py", "--name", "run", "--checkpoints_dir", tmp_path, "--continue_train", "--niter", "3",
                         "--ema_decay", "0.9", "--ema_bn_batches", "1")
    assert resumed.returncode == 0, resumed.stderr
    assert "FID: real statistics of the validation images from" in resumed.stdout  # the cached ones
    assert "the weight average starts at the loaded G" in resumed.stdout
    rows = eval_rows(folder)
    assert len(rows) == 3 and rows[2][0] == "3" and rows[2][3] == "0.000" and rows[2][4] == "G_ema"
    assert "(best 0.000 at epoch 1;" in resumed.stdout
    assert (folder / "best_net_G.pth").read_bytes() == best_before
    assert not (folder / "best_net_G_ema.pth").exists()


def test_missing_inception_weights_stop_the_run_before_training(tmp_path):
    (tmp_path / "empty_torch_home").mkdir()
    # a closed local port: the download attempt fails at once, online or not
    env = dict(os.environ, TORCH_HOME=str(tmp_path / "empty_torch_home"), https_proxy="http://127.0.0.1:9",
               HTTPS_PROXY="http://127.0.0.1:9")
    command = [sys.executable, str(REPO / "train.py"), "--name", "run", *train_flags(tmp_path), *SMALL, "--niter", "1",
               "--train_eval"]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("error: ") and fid.WEIGHTS_FILE_NAME in message and "--fid_weights PATH" in message
    assert "(epoch" not in result.stdout and not list((tmp_path / "run").glob("*.pth"))


def test_compute_fid_in_test_matches_the_fid_of_the_written_pictures(evaluated_run, inception_file, tmp_path):
    import test as test_script
    from data import create_dataloader
    from options.test_options import TestOptions

    flags = ["--name", "run", "--checkpoints_dir", evaluated_run[0].parent, "--results_dir", tmp_path,
             *FIXTURE_FLAGS, "--norm_mode", "clade", "--label_dir", DATA64 / "labels", "--image_dir",
             DATA64 / "images", "--max_dataset_size", "4", "--eval_dims", "64", "--fid_weights", inception_file]
    web_dir = test_script.main([*flags, "--compute_fid"])
    lines = (web_dir / "fid.txt").read_text().splitlines()
    assert len(lines) == 1 and "(4 images vs their real images, Inception dims 64, latest_net_G.pth)" in lines[0]
    reported = float(lines[0].split("FID ")[1].split()[0])

    model = fid.load_inception(64, inception_file)
    opt = TestOptions().parse(flags)
    real = fid.activation_statistics((batch["image"] for batch in create_dataloader(opt)), model)
    fake = fid.folder_statistics(web_dir / "images" / "synthesized_image", model, progress=False)
    assert reported == pytest.approx(fid.frechet_distance(*real, *fake), abs=2e-4)


def test_best_fid_is_recovered_from_the_eval_log(tmp_path):
    log = tmp_path / "eval_log.txt"
    log.write_text("epoch  iteration         FID    best_FID  weights\n"
                   "    5        400      40.500      40.500  G\n"
                   "   10        800      38.250      38.250  G\n"
                   "   15       1200      39.000      38.250  G\n")
    assert best_from_eval_log(log) == {"best_fid": 38.25, "best_epoch": 10}
    assert best_from_eval_log(tmp_path / "missing.txt") is None


def options(**values):
    defaults = dict(isTrain=True, no_flip=False, serial_batches=False, preprocess_mode="resize_and_crop",
                    load_size=286, crop_size=256, dataset_mode="custom", phase="train", label_dir="L", image_dir="I",
                    instance_dir="", dist_dir="D", val_label_dir="", val_image_dir="", val_instance_dir="")
    return argparse.Namespace(**{**defaults, **values})


def test_validation_options_use_test_time_preprocessing_and_the_validation_split():
    val = validation_options(options(val_label_dir="VL", val_image_dir="VI"))
    assert (val.isTrain, val.no_flip, val.serial_batches, val.load_size) == (False, True, True, 256)
    assert (val.label_dir, val.image_dir, val.dist_dir) == ("VL", "VI", "")
    assert validation_options(options()).label_dir == "L"
    assert validation_options(options(dataset_mode="coco")).phase == "test"
    for mode, load in (("scale_width_and_crop", 256), ("scale_shortside_and_crop", 256), ("crop", 286),
                       ("scale_width", 286), ("fixed", 286), ("none", 286)):
        assert load_size_at_test_time(options(preprocess_mode=mode)) == load
    with pytest.raises(UserError, match="go together"):
        validation_options(options(val_label_dir="VL"))
    with pytest.raises(UserError, match="only apply to --dataset_mode custom"):
        validation_options(options(dataset_mode="coco", val_image_dir="VI"))
