"""train.py as users run it: the seed user's commands, run folders, refusing to clobber, reference resume."""
import re

import numpy as np
import torch
import yaml
from PIL import Image

from util.visuals import label_colormap
from conftest import DATA64, FIXTURE_FLAGS, copy_reference_run, load_weights, run_script, train_flags


def loss_lines(folder):
    return [line for line in (folder / "loss_log.txt").read_text().splitlines() if line.startswith("(epoch")]


def test_seed_user_commands_train_then_continue_with_new_batch_size(tmp_path):
    first = run_script("train.py", "--name", "mike_crop_subset", "--load_size", "256", "--crop_size", "256",
                       "--dataset_mode", "custom", "--label_dir", DATA64 / "labels", "--image_dir", DATA64 / "images",
                       "--label_nc", "19", "--no_instance", "--batchSize", "2", "--norm_mode", "clade",
                       "--load_size", "64", "--crop_size", "64", "--ngf", "8", "--ndf", "8", "--niter", "1",
                       "--no_vgg_loss", "--gpu_ids", "-1", "--checkpoints_dir", tmp_path, "--print_freq", "8")
    assert first.returncode == 0, first.stderr
    folder = tmp_path / "mike_crop_subset"
    assert {"latest_net_G.pth", "latest_net_D.pth", "1_net_G.pth", "1_net_D.pth", "iter.txt", "opt.txt",
            "options.yaml", "loss_log.txt", "latest_training_state.pth"} <= {p.name for p in folder.iterdir()}
    assert "1 epochs, 8 iterations" in first.stdout

    second = run_script("train.py", "--name", "mike_crop_subset", "--continue_train", "--batchSize", "8",
                        "--tf_log", "--serial_batches", "--niter", "2", "--checkpoints_dir", tmp_path)
    assert second.returncode == 0, second.stderr
    assert "2 epochs, 10 iterations (2 this launch" in second.stdout
    saved = yaml.safe_load((folder / "options.yaml").read_text())
    assert (saved["batchSize"], saved["serial_batches"], saved["tf_log"], saved["norm_mode"]) == (8, True, True, "clade")
    assert re.search(r"^ +batchSize: 8 +\t\[default: 1\]$", (folder / "opt.txt").read_text(), re.M)
    assert loss_lines(folder)[-1].startswith("(epoch: 2, iters: 16,")
    assert list((folder / "logs").glob("events.out.tfevents.*"))


def test_existing_run_is_refused_and_untouched(tmp_path):
    flags = ["--name", "run", *train_flags(tmp_path), "--niter", "1"]
    assert run_script("train.py", *flags).returncode == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir() if p.is_file()}
    again = run_script("train.py", *flags)
    assert again.returncode == 1 and "Traceback" not in again.stderr
    assert "already holds a run" in again.stderr and "--continue_train" in again.stderr and "--start_over" in again.stderr
    assert {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir() if p.is_file()} == before

    over = run_script("train.py", *flags, "--start_over", "--niter", "2")
    assert over.returncode == 0, over.stderr
    assert "2 epochs, 16 iterations (16 this launch" in over.stdout


def test_continue_without_a_run_is_refused(tmp_path):
    result = run_script("train.py", "--name", "ghost", "--continue_train", *train_flags(tmp_path))
    assert result.returncode == 1 and "holds no checkpoint" in result.stderr and "Traceback" not in result.stderr


def test_reference_run_folder_resumes_from_its_weights(tmp_path):
    folder = copy_reference_run("g_clade", tmp_path)
    reference_g = load_weights(folder / "latest_net_G.pth")
    result = run_script("train.py", "--name", "g_clade", "--continue_train", *FIXTURE_FLAGS, "--norm_mode", "clade",
                        "--ndf", "8", "--no_vgg_loss", "--batchSize", "2", "--niter", "2", "--print_freq", "2",
                        "--checkpoints_dir", tmp_path, "--label_dir", DATA64 / "labels",
                        "--image_dir", DATA64 / "images")
    assert result.returncode == 0, result.stderr
    assert "from the latest weights at epoch 2, image 0" in result.stdout
    lines = loss_lines(folder)
    assert lines[-1].startswith("(epoch: 2, iters: 16,")
    trained = load_weights(folder / "latest_net_G.pth")
    assert list(trained) == list(reference_g)
    assert not torch.equal(trained["fc.weight"], reference_g["fc.weight"])
    assert (folder / "iter.txt").read_text() == "3\n0\n"


def test_bad_config_value_is_one_sentence(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("norm_mode: cladish\n")
    result = run_script("train.py", "--name", "x", *train_flags(tmp_path), "--config", config)
    assert result.returncode == 1 and "norm_mode" in result.stderr and "cladish" in result.stderr
    assert "Traceback" not in result.stderr


def test_test_py_takes_the_architecture_from_the_run(tmp_path):
    assert run_script("train.py", "--name", "arch", *train_flags(tmp_path), "--niter", "1").returncode == 0
    result = run_script("test.py", "--name", "arch", "--checkpoints_dir", tmp_path, "--load_from_opt_file",
                        "--label_dir", DATA64 / "labels", "--image_dir", DATA64 / "images", "--gpu_ids", "-1",
                        "--results_dir", tmp_path / "results", "--how_many", "3")
    assert result.returncode == 0, result.stderr
    # trained on random 64-px crops of 72-px resizes; tested on whole 64-px resizes, serially, in the test phase
    images = tmp_path / "results" / "arch" / "test_latest" / "images"
    pictures = sorted((images / "synthesized_image").iterdir())
    assert [p.name for p in pictures] == ["00000.png", "00001.png", "00002.png"]
    label = np.asarray(Image.open(DATA64 / "labels" / "00001.png"))
    colours = label_colormap(19 + 2)[label]
    assert np.array_equal(np.asarray(Image.open(images / "input_label" / "00001.png")), colours)


def test_failed_start_leaves_no_run_folder(tmp_path):
    result = run_script("train.py", "--name", "bad", *train_flags(tmp_path), "--image_dir", tmp_path / "missing")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "bad").exists()
