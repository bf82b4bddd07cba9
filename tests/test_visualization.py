"""Watching a run: TensorBoard event files, the web/ page, and plots of our own loss log."""
import csv
import re

import numpy as np
import pytest
import torch

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import run_script, train_flags
from util.celebamaskhq import CLASS_NAMES, colorize
from util.visuals import colorize_label


def read_events(logs):
    """{tag: [(step, value)]} over all event files of a folder, and the image tags."""
    accumulator = EventAccumulator(str(logs), size_guidance={"scalars": 0, "images": 0})
    accumulator.Reload()
    tags = accumulator.Tags()
    scalars = {tag: [(e.step, e.value) for e in accumulator.Scalars(tag)] for tag in tags["scalars"]}
    return scalars, {tag: [e.step for e in accumulator.Images(tag)] for tag in tags["images"]}


def test_tensorboard_logs_continue_after_resume(tmp_path):
    flags = ["--name", "tb", *train_flags(tmp_path), "--tf_log"]
    assert run_script("train.py", *flags, "--niter", "1").returncode == 0
    scalars, images = read_events(tmp_path / "tb" / "logs")
    assert {"loss/GAN", "loss/GAN_Feat", "loss/D_Fake", "loss/D_real", "lr/G", "lr/D",
            "speed/images_per_s"} <= set(scalars)
    assert [step for step, _ in scalars["loss/GAN"]] == [2, 4, 6, 8]  # print_freq 4 images, batch 2
    assert scalars["lr/G"][0][1] == pytest.approx(1e-4) and scalars["lr/D"][0][1] == pytest.approx(4e-4)
    assert list(images.values())[0] == [4, 8]  # display_freq 8 images

    resumed = run_script("train.py", "--name", "tb", "--checkpoints_dir", tmp_path, "--continue_train",
                         "--niter", "2")
    assert resumed.returncode == 0, resumed.stderr
    scalars, images = read_events(tmp_path / "tb" / "logs")
    assert [step for step, _ in scalars["loss/GAN"]] == [2, 4, 6, 8, 10, 12, 14, 16]
    assert list(images.values())[0] == [4, 8, 12, 16]


def test_web_page_lists_existing_pictures_newest_first(tmp_path):
    assert run_script("train.py", "--name", "web", *train_flags(tmp_path), "--niter", "2").returncode == 0
    web = tmp_path / "web" / "web"
    page = (web / "index.html").read_text()
    headers = re.findall(r"<h3>epoch \[(\d+)\], iters \[(\d+)\]</h3>", page)
    assert headers == [("2", "16"), ("2", "8"), ("1", "16"), ("1", "8")]
    linked = re.findall(r'src="(images/[^"]+)"', page)
    assert len(linked) == 12 and all((web / path).is_file() for path in linked)


def test_plot_losses_on_our_log(tmp_path):
    assert run_script("train.py", "--name", "plot", *train_flags(tmp_path), "--niter", "1").returncode == 0
    log = tmp_path / "plot" / "loss_log.txt"
    result = run_script("scripts/plot_losses.py", log, "--out", tmp_path / "fig")
    assert result.returncode == 0, result.stderr
    for suffix in ("png", "pdf", "svg", "csv"):
        assert (tmp_path / f"fig.{suffix}").stat().st_size > 1000 or suffix == "csv"
    lines = [line for line in log.read_text().splitlines() if line.startswith("(epoch")]
    expected = [(name, float(value)) for line in lines for name, value in re.findall(r"(\w+): ([-\d.]+) ", line)
                if name not in ("epoch", "iters", "time")]
    with open(tmp_path / "fig.csv") as f:
        rows = list(csv.DictReader(f))
    by_series = {}
    for row in rows:
        by_series.setdefault(row["series"], []).append(float(row["value"]))
    for name in ("GAN", "GAN_Feat", "D_Fake", "D_real"):
        assert by_series[name] == [value for key, value in expected if key == name]


def test_dataset_previews_and_pages_colour_labels_alike():

    ids = np.arange(len(CLASS_NAMES)).reshape(1, -1)
    page_colours = colorize_label(torch.from_numpy(ids)[None], len(CLASS_NAMES) + 2)  # what train.py/test.py draw
    assert np.array_equal(colorize(ids), page_colours)
    assert len({tuple(colour) for colour in page_colours[0]}) == len(CLASS_NAMES)
