"""Several processes on the CPU (gloo), started by torchrun or by our launcher: the same training as one
process with the same global batch, no deadlock when rank 0 works alone, no worker left behind."""
import ast
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import util.distributed as distributed
from conftest import REPO, load_weights, run_script, train_flags
from models.networks.normalization import GlooSyncBatchNorm
from options.persistence import restored_run_options, save_run_options
from util.loss_log import read_loss_log

# GAN training amplifies float rounding (a single process on 1 vs 2 threads differs by ~5e-4 after
# two iterations); a wrong data shard, unsynchronised batch norm or lost optimizer state is far larger
WEIGHT_TOLERANCE = 2e-3
STATISTICS_TOLERANCE = 1e-3
LOSS_RELATIVE_TOLERANCE = 2e-3
PRINTED_DIGIT = 5e-4  # losses are logged with 3 decimals
LAUNCHER = "import sys; from util.distributed import launch_workers; sys.exit(launch_workers(2, sys.argv[1:]))"


def torchrun(*args, timeout=600):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *map(str, args)]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout)


# ---- every collective on the device its process group serves ------------------------------------------
class CollectiveSeen(Exception):
    pass


@pytest.fixture
def recorded_collectives(monkeypatch):
    """A stand-in process group of two that serves only "meta" tensors and records each collective's device."""
    devices = []

    def collective(tensor, *args, **kwargs):
        devices.append(tensor.device.type)
        raise CollectiveSeen

    monkeypatch.setattr(distributed, "group_device", lambda: torch.device("meta"))
    monkeypatch.setattr(dist, "all_reduce", collective)
    monkeypatch.setattr(dist, "is_initialized", lambda: True)
    monkeypatch.setattr(dist, "get_world_size", lambda group=None: 2)
    return devices


def test_every_collective_runs_on_the_process_group_device(recorded_collectives):
    opt = type("Options", (), {"rank": 0, "world_size": 2, "dist_timeout": 60})()
    calls = [lambda: distributed.any_process(True, opt),
             lambda: distributed.mean_over_processes({"GAN": torch.tensor(1.0)}, opt),
             lambda: GlooSyncBatchNorm(3).train()(torch.randn(2, 3, 4, 4))]
    for call in calls:
        with pytest.raises(CollectiveSeen):
            call()
    assert recorded_collectives == ["meta"] * len(calls)


def test_the_process_group_device_is_this_process_gpu_under_nccl(monkeypatch):
    monkeypatch.setattr(dist, "get_backend", lambda group=None: "nccl")
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 3)
    assert distributed.group_device() == torch.device("cuda", 3)
    monkeypatch.setattr(dist, "get_backend", lambda group=None: "gloo")
    assert distributed.group_device() == torch.device("cpu")


def test_no_code_outside_util_distributed_calls_a_collective():
    collectives = {"all_reduce", "all_gather", "all_gather_object", "broadcast", "broadcast_object_list", "barrier",
                   "reduce", "gather", "scatter", "monitored_barrier", "all_to_all", "reduce_scatter"}
    offenders = []
    sources = [path for folder in REPO.iterdir() if folder.is_dir() and folder.name not in (".venv", ".git", "tests")
               for path in folder.rglob("*.py")] + list(REPO.glob("*.py"))
    for path in sources:
        if path == REPO / "util" / "distributed.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in collectives and \
                    isinstance(node.value, ast.Name) and node.value.id == "dist":
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno} dist.{node.attr}")
    assert offenders == []


# ---- synchronised batch norm: fp32 statistics under autocast --------------------------------------------
def _synced_norm_worker(rank, store_path, batch, results):
    dist.init_process_group("gloo", init_method=f"file://{store_path}", rank=rank, world_size=2)
    torch.set_num_threads(1)
    norm = GlooSyncBatchNorm(batch.size(1)).train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = norm(batch[rank * 2:(rank + 1) * 2].bfloat16())
    results[rank] = (out.detach().float(), norm.running_mean.clone(), norm.running_var.clone())
    dist.destroy_process_group()


def test_synced_batch_norm_computes_its_statistics_in_fp32_under_autocast(tmp_path):
    torch.manual_seed(0)
    batch = torch.randn(4, 3, 8, 8) * 4 + 300  # a large mean: its square loses its digits in bf16
    results = mp.Manager().dict()
    mp.start_processes(_synced_norm_worker, args=(tmp_path / "store", batch, results), nprocs=2, start_method="fork")
    reference = torch.nn.BatchNorm2d(3).train()
    expected = reference(batch.bfloat16().float()).detach()  # the bf16 input, normalised in fp32
    out = torch.cat([results[0][0], results[1][0]])
    assert (out - expected).abs().max().item() < 0.02  # bf16 rounding of the output only
    for rank in (0, 1):
        assert torch.allclose(results[rank][1], reference.running_mean, rtol=1e-5)
        assert torch.allclose(results[rank][2], reference.running_var, rtol=1e-3)


# ---- two processes train as one --------------------------------------------------------------------
def first_logged_losses(folder: Path) -> dict:
    """The losses of the first iteration the run's loss_log.txt holds."""
    return {name: float(series.value[0]) for name, series in read_loss_log(folder / "loss_log.txt").series.items()}


def assert_close_weights(folder_a: Path, folder_b: Path):
    for label in ("G", "D"):
        ours, theirs = (load_weights(folder / f"latest_net_{label}.pth") for folder in (folder_a, folder_b))
        assert list(ours) == list(theirs)
        for key in ours:
            if not ours[key].is_floating_point():
                assert torch.equal(ours[key], theirs[key]), key
                continue
            tolerance = STATISTICS_TOLERANCE if "running_" in key else WEIGHT_TOLERANCE
            assert (ours[key] - theirs[key]).abs().max().item() < tolerance, (label, key)


def test_two_processes_train_as_one_and_resume_with_another_process_count(tmp_path):
    # one global batch of 4 per epoch; batch norm synchronised (spectralspadesyncbatch3x3), flipped, cropped
    flags = [*train_flags(tmp_path), "--batchSize", "4", "--max_dataset_size", "4", "--print_freq", "4"]
    single = run_script("train.py", "--name", "single", *flags, "--niter", "2")
    assert single.returncode == 0, single.stderr

    first = torchrun("train.py", "--name", "two_then_one", *flags, "--niter", "1")
    assert first.returncode == 0, first.stderr
    two_to_one = run_script("train.py", "--name", "two_then_one", "--checkpoints_dir", tmp_path, "--continue_train",
                            "--niter", "2", "--gpu_ids", "-1")
    assert two_to_one.returncode == 0, two_to_one.stderr
    assert "Training was successfully finished: 2 epochs, 2 iterations (1 this launch" in two_to_one.stdout

    first = run_script("train.py", "--name", "one_then_two", *flags, "--niter", "1")
    assert first.returncode == 0, first.stderr
    one_to_two = torchrun("train.py", "--name", "one_then_two", "--checkpoints_dir", tmp_path, "--continue_train",
                          "--niter", "2", "--gpu_ids", "-1")
    assert one_to_two.returncode == 0, one_to_two.stderr
    assert one_to_two.stdout.count("Training was successfully finished: 2 epochs, 2 iterations (1 this launch") == 1

    for name in ("two_then_one", "one_then_two"):
        assert_close_weights(tmp_path / name, tmp_path / "single")
    # the logged losses are the global batch's means, not rank 0's share
    ours, theirs = first_logged_losses(tmp_path / "two_then_one"), first_logged_losses(tmp_path / "single")
    assert list(ours) == list(theirs) == ["GAN", "GAN_Feat", "D_Fake", "D_real"]
    for name in ours:
        gap = abs(ours[name] - theirs[name])
        assert gap <= LOSS_RELATIVE_TOLERANCE * max(abs(ours[name]), abs(theirs[name])) + PRINTED_DIGIT, name
    folder = tmp_path / "one_then_two"
    assert sum(line.startswith("=====") for line in (folder / "loss_log.txt").read_text().splitlines()) == 2
    assert len(torch.load(folder / "latest_training_state.pth", weights_only=False)["rng"]) == 2


def test_machine_settings_are_not_restored_on_resume(tmp_path):
    fields = {"gpu_ids": "0,1,2,3", "nThreads": 8, "dist_timeout": 60, "batchSize": 8, "lr": 0.001}
    save_run_options(tmp_path / "run", fields, {})
    assert restored_run_options(str(tmp_path), "run") == {"batchSize": 8, "lr": 0.001}


# ---- rank 0 alone: evaluation, best and averaged checkpoints -----------------------------------------
def test_fid_evaluation_and_weight_average_finish_under_two_processes(tmp_path, inception_file):
    result = torchrun("train.py", "--name", "run", *train_flags(tmp_path), "--batchSize", "4", "--max_dataset_size",
                      "8", "--niter", "2", "--train_eval", "--eval_epoch_freq", "1", "--eval_dims", "64",
                      "--fid_weights", inception_file, "--ema_decay", "0.9", "--ema_bn_batches", "2", timeout=300)
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "run"
    assert [line.split()[0] for line in (folder / "eval_log.txt").read_text().splitlines()[1:]] == ["1", "2"]
    for name in ("best_net_G.pth", "best_net_G_ema.pth", "latest_net_G_ema.pth", "2_net_G_ema.pth"):
        assert (folder / name).is_file(), name
    assert "Training was successfully finished: 2 epochs, 4 iterations" in result.stdout


def test_waiting_longer_than_dist_timeout_stops_with_one_sentence(tmp_path):
    script = tmp_path / "slow_rank0.py"
    script.write_text(
        "import argparse, sys, time\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "from util.distributed import init_distributed, run_on_main\n"
        "from util.errors import exits_on_user_error\n"
        "opt = argparse.Namespace(batchSize=2, gpu_ids=[], dist_timeout=2)\n"
        "exits_on_user_error(lambda: (init_distributed(opt), run_on_main(opt, 'a slow job', "
        "lambda: time.sleep(6))))()\n")
    result = torchrun(script, timeout=120)
    assert result.returncode != 0
    assert ("error: process 1 waited more than --dist_timeout 2 s for the other processes (waiting for process 0 to "
            "finish a slow job); raise --dist_timeout") in result.stderr


# ---- launching and stopping ---------------------------------------------------------------------------
def processes_mentioning(token: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and token in (entry / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(entry.name))
        except OSError:
            continue
    return [pid for pid in found if pid != os.getpid()]


def start_training(command: list[str], folder: Path) -> subprocess.Popen:
    """Start a long training run and return once its first losses are logged."""
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    log = folder / "run" / "loss_log.txt"
    deadline = time.time() + 180
    while not (log.is_file() and "(epoch" in log.read_text()):
        assert process.poll() is None and time.time() < deadline, process.communicate()
        time.sleep(0.2)
    return process


def wait_until_gone(token: str, seconds: float) -> float:
    started = time.time()
    while processes_mentioning(token) and time.time() - started < seconds:
        time.sleep(0.2)
    return time.time() - started


def long_run(tmp_path) -> list[str]:
    return ["train.py", "--name", "run", *train_flags(tmp_path), "--batchSize", "4", "--niter", "500"]


def test_a_killed_worker_stops_every_process_with_one_line(tmp_path):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               *long_run(tmp_path)]
    launcher = start_training(command, tmp_path)
    workers = [pid for pid in processes_mentioning(str(tmp_path)) if pid != launcher.pid]
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGKILL)
    assert wait_until_gone(str(tmp_path), 30) < 30
    _, stderr = launcher.communicate(timeout=30)
    assert launcher.returncode != 0
    lines = [line for line in stderr.splitlines() if "error: process" in line]
    assert len(lines) == 1 and "lost the other processes" in lines[0] and "resume with --continue_train" in lines[0]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_stopping_the_launcher_leaves_no_worker_and_saves(tmp_path, sig):
    launcher = start_training([sys.executable, "-c", LAUNCHER, *long_run(tmp_path)], tmp_path)
    os.killpg(launcher.pid, sig)  # as a terminal's Ctrl-C reaches the launcher's process group
    assert wait_until_gone(str(tmp_path), 60) < 60
    _, stderr = launcher.communicate(timeout=30)
    assert (tmp_path / "run" / "latest_training_state.pth").is_file()  # the workers saved before stopping
    if sig != signal.SIGKILL:
        assert launcher.returncode == 0, stderr
        assert f"the launcher got {sig.name}: every process was asked to save and stop." in stderr


def test_a_global_batch_that_the_processes_cannot_share_names_batch_sizes_that_fit(monkeypatch):
    import argparse

    from util.errors import UserError

    monkeypatch.setattr(distributed, "die_with_launcher", lambda: None)
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(UserError, match=r"--batchSize 4 \(the global batch\) cannot be shared equally by 3 processes; "
                                        r"pass --batchSize 3 or 6"):
        distributed.init_distributed(argparse.Namespace(batchSize=4, gpu_ids=[], dist_timeout=60))
