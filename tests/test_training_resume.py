"""Resume by name: a run stopped at arbitrary points (SIGTERM, SIGKILL) ends bit-identical to an unbroken one."""
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO, assert_same_weights, run_script, train_flags

LENGTH = ["--niter", "2", "--niter_decay", "1", "--save_latest_freq", "6"]


def start_training(name, checkpoints):
    command = [sys.executable, str(REPO / "train.py"), "--name", name, *train_flags(checkpoints), *LENGTH]
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_loss_lines(log, count, process, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if log.exists() and sum(1 for line in log.read_text().splitlines() if line.startswith("(epoch")) >= count:
            return
        assert process.poll() is None, "the run ended before it could be interrupted"
        time.sleep(0.02)
    raise AssertionError("training made no progress")


@pytest.fixture(scope="module")
def unbroken(tmp_path_factory):
    checkpoints = tmp_path_factory.mktemp("unbroken")
    result = run_script("train.py", "--name", "run", *train_flags(checkpoints), *LENGTH)
    assert result.returncode == 0, result.stderr
    assert "Training was successfully finished: 3 epochs, 24 iterations" in result.stdout
    return checkpoints / "run"


@pytest.mark.parametrize("stop_signal,after_lines", [(signal.SIGTERM, 5), (signal.SIGKILL, 7)])
def test_interrupted_and_resumed_run_matches_unbroken(unbroken, tmp_path, stop_signal, after_lines):
    process = start_training("run", tmp_path)
    wait_for_loss_lines(tmp_path / "run" / "loss_log.txt", after_lines, process)
    os.kill(process.pid, stop_signal)
    stdout, _ = process.communicate(timeout=120)
    if stop_signal == signal.SIGTERM:
        assert process.returncode == 0 and "stopped by SIGTERM" in stdout
    else:
        assert process.returncode == -signal.SIGKILL

    resumed = run_script("train.py", "--name", "run", "--checkpoints_dir", tmp_path, "--continue_train")
    assert resumed.returncode == 0, resumed.stderr
    assert "with optimizer and RNG states" in resumed.stdout
    assert "Training was successfully finished: 3 epochs, 24 iterations" in resumed.stdout
    for label in ("G", "D"):
        assert_same_weights(unbroken / f"latest_net_{label}.pth", tmp_path / "run" / f"latest_net_{label}.pth")
        assert_same_weights(unbroken / f"3_net_{label}.pth", tmp_path / "run" / f"3_net_{label}.pth")
    assert (tmp_path / "run" / "iter.txt").read_text() == "4\n0\n"
    assert not list((tmp_path / "run").glob(".*.tmp"))
