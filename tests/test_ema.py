"""Generator weight averaging (--ema_decay): the average, its batch-norm refresh, resume and test.py --use_ema."""
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn
from torch.nn.utils import spectral_norm

from conftest import DATA64, FIXTURE_FLAGS, REPO, assert_same_weights, read_png, run_script, train_flags
from models.ema import GeneratorEMA
from test_training_resume import wait_for_loss_lines

LENGTH = ["--niter", "2", "--niter_decay", "1", "--max_dataset_size", "4", "--print_freq", "2",
          "--ema_decay", "0.9", "--ema_bn_batches", "2"]


def test_average_is_the_hand_computed_average_of_the_snapshots():
    torch.manual_seed(0)
    network = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    ema = GeneratorEMA(network, decay=0.8)
    expected = {name: p.detach().double().clone() for name, p in network.named_parameters()}
    for _ in range(4):
        with torch.no_grad():
            for parameter in network.parameters():
                parameter.add_(torch.randn_like(parameter))
        network[1].running_mean.normal_()
        ema.update(network)
        for name, parameter in network.named_parameters():
            expected[name] = 0.8 * expected[name] + 0.2 * parameter.detach().double()
    averaged = dict(ema.generator.named_parameters())
    for name, value in expected.items():
        assert torch.allclose(averaged[name].double(), value, atol=1e-6), name
        assert not averaged[name].requires_grad
    assert torch.equal(ema.generator[1].running_mean, network[1].running_mean)
    assert list(ema.state_dict()) == list(network.state_dict())


def test_batch_norm_refresh_measures_the_average_and_touches_nothing_else():
    torch.manual_seed(0)
    network = nn.Sequential(spectral_norm(nn.Conv2d(3, 4, 3)), nn.BatchNorm2d(4))
    ema = GeneratorEMA(network, decay=0.5)
    batches = [torch.randn(2, 3, 8, 8), torch.randn(3, 3, 8, 8) + 1]
    power_iteration_vector = ema.generator[0].weight_u.clone()
    rng_before = torch.get_rng_state()

    ema.refresh_batch_norm({"input": batch} for batch in batches)
    with torch.no_grad():
        features = [ema.generator[0](batch) for batch in batches]  # eval mode: no power iteration
    batch_means = torch.stack([f.mean(dim=(0, 2, 3)) for f in features])
    assert torch.allclose(ema.generator[1].running_mean, batch_means.mean(dim=0), atol=1e-5)
    assert torch.equal(ema.generator[0].weight_u, power_iteration_vector)
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert ema.generator[1].momentum == 0.1 and not ema.generator.training and ema.batch_norm_fresh

    first = ema.state_dict()
    first = {k: v.clone() for k, v in first.items()}
    ema.refresh_batch_norm({"input": batch} for batch in batches)
    assert all(torch.equal(first[k], v) for k, v in ema.state_dict().items())


@pytest.fixture(scope="module")
def unbroken(tmp_path_factory):
    checkpoints = tmp_path_factory.mktemp("unbroken_ema")
    result = run_script("train.py", "--name", "run", *train_flags(checkpoints), *LENGTH)
    assert result.returncode == 0, result.stderr
    assert "3 epochs, 6 iterations" in result.stdout
    return checkpoints / "run"


def test_average_survives_an_interrupted_run_bit_exactly(unbroken, tmp_path):
    command = [sys.executable, str(REPO / "train.py"), "--name", "run", *train_flags(tmp_path), *LENGTH]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_loss_lines(tmp_path / "run" / "loss_log.txt", 1, process)
    os.kill(process.pid, signal.SIGTERM)
    stdout, _ = process.communicate(timeout=120)
    assert process.returncode == 0 and "stopped by SIGTERM" in stdout

    resumed = run_script("train.py", "--name", "run", "--checkpoints_dir", tmp_path, "--continue_train")
    assert resumed.returncode == 0, resumed.stderr
    assert "and the weight average latest_net_G_ema.pth" in resumed.stdout
    assert "3 epochs, 6 iterations" in resumed.stdout
    for which in ("latest", "3"):
        for label in ("G", "G_ema"):
            assert_same_weights(unbroken / f"{which}_net_{label}.pth", tmp_path / "run" / f"{which}_net_{label}.pth")


def test_use_ema_generates_with_the_averaged_weights(unbroken, tmp_path):
    import test as test_script

    def pictures(checkpoints, results, *extra):
        web_dir = test_script.main(["--name", "run", "--checkpoints_dir", checkpoints, "--results_dir", results,
                                    *FIXTURE_FLAGS, "--norm_mode", "clade", "--label_dir", DATA64 / "labels",
                                    "--image_dir", DATA64 / "images", "--max_dataset_size", "2", *extra])
        folder = web_dir / "images" / "synthesized_image"
        return {path.name: read_png(path) for path in sorted(folder.glob("*.png"))}

    averaged = pictures(unbroken.parent, tmp_path / "ema", "--use_ema")
    plain = pictures(unbroken.parent, tmp_path / "plain")
    swapped = shutil.copytree(unbroken, tmp_path / "swapped" / "run")
    shutil.copyfile(unbroken / "latest_net_G_ema.pth", swapped / "latest_net_G.pth")
    expected = pictures(swapped.parent, tmp_path / "swapped_results")

    assert list(averaged) == list(plain) == list(expected) and len(averaged) == 2
    assert all(np.array_equal(averaged[name], expected[name]) for name in averaged)
    assert not all(np.array_equal(averaged[name], plain[name]) for name in averaged)
