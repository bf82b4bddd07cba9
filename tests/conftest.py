"""Shared test helpers: paths to the fixtures, running the entry points in a new process."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

# pytest-xdist runs one worker per core; a second OpenMP thread in each worker's processes only
# spins against the other workers (the suite takes 2.8 times as long on two cores). Set before
# numpy and torch are imported, and inherited by every command the tests run.
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest
from PIL import Image

import warm_interpreter

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "reference"
DATA64 = FIXTURES / "data64"
sys.path.insert(0, str(REPO))
warm_interpreter.start()

# the flags the reference fixtures were made with (tests/fixtures/README.md)
FIXTURE_FLAGS = ["--gpu_ids", "-1", "--dataset_mode", "custom", "--label_nc", "19", "--no_instance", "--ngf", "8",
                 "--load_size", "64", "--crop_size", "64"]


def run_script(script: str, *args, cwd=REPO, timeout=600) -> subprocess.CompletedProcess:
    """Run ``python <script> args`` from the repository in a new process (``warm_interpreter``).

    With ``TEST_GPU_IDS`` set (``scripts/gpu_check.sh``), ``--gpu_ids -1`` becomes ``--gpu_ids $TEST_GPU_IDS``.
    """
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    args = [str(arg) for arg in args]
    if os.environ.get("TEST_GPU_IDS"):
        args = [os.environ["TEST_GPU_IDS"] if arg == "-1" and previous == "--gpu_ids" else arg
                for previous, arg in zip([""] + args, args)]
    return warm_interpreter.run([REPO / script, *args], cwd, env, timeout=timeout)


def assert_one_sentence(result, *fragments):
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    # a progress bar may precede the sentence when the culprit is met while generating
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])


def copy_reference_run(name: str, checkpoints: Path) -> Path:
    """Copy a reference run folder into ``checkpoints`` (fixtures stay untouched)."""
    target = checkpoints / name
    shutil.copytree(FIXTURES / "checkpoints" / name, target)
    return target


def read_png(path) -> np.ndarray:
    return np.asarray(Image.open(path)).astype(np.int64)


@pytest.fixture
def data64(tmp_path) -> Path:
    """A writable copy of the 16 toy samples."""
    target = tmp_path / "data64"
    shutil.copytree(DATA64, target)
    return target


def train_flags(checkpoints: Path, data: Path = DATA64, *extra) -> list[str]:
    """A toy training command on 16 samples at 64 px, shuffled, randomly cropped and flipped."""
    return ["--gpu_ids", "-1", "--dataset_mode", "custom", "--label_nc", "19", "--no_instance", "--norm_mode", "clade",
            "--ngf", "8",
            "--ndf", "8", "--load_size", "72", "--crop_size", "64", "--no_vgg_loss", "--batchSize", "2",
            "--print_freq", "4", "--display_freq", "8", "--checkpoints_dir", str(checkpoints),
            "--label_dir", str(data / "labels"), "--image_dir", str(data / "images"), *map(str, extra)]


def load_weights(path) -> dict:
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def assert_same_weights(path_a, path_b):
    import torch

    a, b = load_weights(path_a), load_weights(path_b)
    assert list(a) == list(b)
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert different == [], f"{len(different)} tensors differ, e.g. {different[:3]}"


@pytest.fixture(scope="session")
def inception_file(tmp_path_factory) -> Path:
    """Random weights of FID's Inception network (the real ones cannot be downloaded here)."""
    import torch

    from util import fid

    path = tmp_path_factory.mktemp("inception") / "pt_inception.pth"
    torch.manual_seed(0)
    torch.save(fid.fid_inception_trunk().state_dict(), path)
    return path
