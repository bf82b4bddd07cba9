"""Ctrl-C during training: the first saves and stops, a second waits for the save, a third aborts."""
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO, load_weights, train_flags
from util.stop_signal import ABORT_EXIT_CODE, StopSignal


@pytest.fixture
def restored_handlers():
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_second_signal_waits_and_third_aborts(restored_handlers, capfd):
    stop = StopSignal()
    os.kill(os.getpid(), signal.SIGINT)
    assert stop.requested and stop.signal_name == "SIGINT"
    assert capfd.readouterr().err == ""
    os.kill(os.getpid(), signal.SIGINT)  # no exception: the save goes on
    assert "the checkpoint is saved first, then the run ends" in capfd.readouterr().err
    with pytest.raises(SystemExit) as aborted:
        os.kill(os.getpid(), signal.SIGTERM)
    assert aborted.value.code == ABORT_EXIT_CODE
    assert "aborted: the latest complete checkpoint is kept" in capfd.readouterr().err


def test_two_quick_ctrl_c_save_and_stop_the_run(tmp_path):
    command = [sys.executable, str(REPO / "train.py"), "--name", "run", *train_flags(tmp_path), "--niter", "50"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = tmp_path / "run" / "loss_log.txt"
    deadline = time.time() + 120
    while not (log.exists() and "(epoch: 1, iters: 4" in log.read_text()):
        assert process.poll() is None and time.time() < deadline, "training made no progress"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    time.sleep(0.05)  # two signals sent at once may reach the process as one
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0 and "Traceback" not in stderr, stderr
    stopped = re.search(r"stopped by SIGINT at epoch (\d+), image (\d+): saved latest", stdout)
    assert stopped, stdout
    # the work up to the stop is saved whole: the state the message names, weights that load
    assert (tmp_path / "run" / "iter.txt").read_text().split() == [stopped[1], stopped[2]]
    assert int(stopped[2]) >= 4 and set(load_weights(tmp_path / "run" / "latest_net_G.pth"))
