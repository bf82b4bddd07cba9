"""DistributedDataParallel on the CPU (gloo): two processes train as one process with the same global batch."""
import subprocess
import sys

import torch

from conftest import REPO, load_weights, run_script, train_flags
from util.distributed import launch_local_processes

# GAN training amplifies float rounding (a single process on 1 vs 2 threads differs by ~5e-4 after
# two iterations); a wrong data shard, unsynchronised batch norm or lost optimizer state is far larger
WEIGHT_TOLERANCE = 2e-3
STATISTICS_TOLERANCE = 1e-3


def torchrun(*args):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               str(REPO / "train.py"), *map(str, args)]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)


def test_two_processes_match_one_and_resume(tmp_path):
    # one global batch of 4 per epoch; batch norm synchronised (spectralspadesyncbatch3x3), flipped, cropped
    flags = [*train_flags(tmp_path), "--batchSize", "4", "--max_dataset_size", "4", "--print_freq", "4"]
    single = run_script("train.py", "--name", "single", *flags, "--niter", "2")
    assert single.returncode == 0, single.stderr

    first = torchrun("--name", "ddp", *flags, "--niter", "1")
    assert first.returncode == 0, first.stderr
    resumed = torchrun("--name", "ddp", "--checkpoints_dir", tmp_path, "--continue_train", "--niter", "2")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.count("Training was successfully finished: 2 epochs, 2 iterations (1 this launch") == 1
    assert resumed.stdout.count("resumed ") == 1

    for label in ("G", "D"):
        ours = load_weights(tmp_path / "ddp" / f"latest_net_{label}.pth")
        theirs = load_weights(tmp_path / "single" / f"latest_net_{label}.pth")
        assert list(ours) == list(theirs)
        for key in ours:
            if not ours[key].is_floating_point():
                assert torch.equal(ours[key], theirs[key]), key
                continue
            tolerance = STATISTICS_TOLERANCE if "running_" in key else WEIGHT_TOLERANCE
            assert (ours[key] - theirs[key]).abs().max().item() < tolerance, (label, key)

    folder = tmp_path / "ddp"
    log = (folder / "loss_log.txt").read_text().splitlines()
    assert sum(line.startswith("=====") for line in log) == 2  # one writer per launch
    assert [line.split(", time")[0] for line in log if line.startswith("(epoch")] == \
        ["(epoch: 1, iters: 4", "(epoch: 2, iters: 4"]
    assert sorted(p.name for p in folder.glob("*.pth")) == sorted(
        ["1_net_D.pth", "1_net_G.pth", "2_net_D.pth", "2_net_G.pth", "latest_net_D.pth", "latest_net_G.pth",
         "latest_training_state.pth"])
    assert len(torch.load(folder / "latest_training_state.pth", weights_only=False)["rng"]) == 2


def test_local_launcher_starts_one_process_per_gpu_id(tmp_path, monkeypatch):
    monkeypatch.setenv("OUT", str(tmp_path))
    script = "import os, pathlib; pathlib.Path(os.environ['OUT'], os.environ['RANK']).write_text(" \
             "os.environ['WORLD_SIZE'] + os.environ['LOCAL_RANK'])"
    assert launch_local_processes([0, 1], ["-c", script]) == 0
    assert (tmp_path / "0").read_text() == "20" and (tmp_path / "1").read_text() == "21"
    assert launch_local_processes([0, 1], ["-c", "import os, sys; sys.exit(int(os.environ['RANK']) * 3)"]) == 3
