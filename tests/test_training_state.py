"""The one definition of a checkpoint set and a training state: every field round-trips, versions are checked."""
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import DATA64, FIXTURE_FLAGS, REPO
from data import create_dataloader
from models.pix2pix_model import Pix2PixModel
from models.trainer import Pix2PixTrainer
from options.train_options import TrainOptions
from util.checkpoint_set import complete_interrupted_saves, save_checkpoint_set, staging_folder
from util.errors import UserError
from util.iteration_counter import IterationCounter
from util.training_state import FORMAT_VERSION, OPTIONAL_FIELDS, REQUIRED_FIELDS, load_training_state, state_path


class BestFID:
    """What the trainer asks of an evaluator when saving: its state."""

    def state_dict(self):
        return {"best_fid": 12.5, "best_epoch": 3}


def assert_same(a, b, where="state"):
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    elif isinstance(a, np.ndarray):
        assert np.array_equal(a, b), where
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def test_every_field_of_the_training_state_round_trips(tmp_path):
    opt = TrainOptions().parse([*FIXTURE_FLAGS, "--norm_mode", "clade", "--ndf", "8", "--no_vgg_loss", "--batchSize", "2",
                                "--name", "state", "--checkpoints_dir", tmp_path, "--label_dir", DATA64 / "labels",
                                "--image_dir", DATA64 / "images"])
    opt.rank, opt.world_size = 0, 1
    torch.manual_seed(0)
    trainer = Pix2PixTrainer(opt, Pix2PixModel(opt), evaluator=BestFID())
    batch = next(iter(create_dataloader(opt)))
    trainer.generator_step(batch)
    trainer.discriminator_step(batch)
    counter = IterationCounter(opt)
    counter.record_batch(2)
    random.random(), np.random.rand(), torch.rand(1)
    expected = {"optimizer_G": trainer.optimizer_G.state_dict(), "optimizer_D": trainer.optimizer_D.state_dict(),
                "scaler_G": trainer.scaler_G.state_dict(), "scaler_D": trainer.scaler_D.state_dict(),
                "counter": counter.state_dict(),
                "rng": [{"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}],
                "evaluation": BestFID().state_dict()}
    trainer.save("latest", counter)

    folder = tmp_path / "state"
    state = load_training_state(folder, "latest")
    assert set(state) == {"format_version", *REQUIRED_FIELDS, *OPTIONAL_FIELDS}
    assert state["format_version"] == FORMAT_VERSION
    assert_same({k: state[k] for k in expected}, expected)
    assert state["optimizer_G"]["state"]  # Adam moments were taken, not an empty optimizer
    assert (folder / "iter.txt").read_text() == "1\n2\n"
    assert sorted(p.name for p in folder.iterdir()) == ["iter.txt", "latest_net_D.pth", "latest_net_G.pth",
                                                        "latest_training_state.pth"]


def test_state_without_a_version_is_read_and_a_newer_one_refused(tmp_path):
    fields = {name: {} for name in REQUIRED_FIELDS}
    torch.save(fields, state_path(tmp_path, "latest"))  # as written before the version was recorded
    assert load_training_state(tmp_path, "latest")["format_version"] == FORMAT_VERSION
    torch.save({**fields, "format_version": FORMAT_VERSION + 1}, state_path(tmp_path, "latest"))
    with pytest.raises(UserError, match=f"format version {FORMAT_VERSION + 1}, written by a newer version"):
        load_training_state(tmp_path, "latest")


def test_a_set_is_rolled_back_before_its_commit_and_forward_after_it(tmp_path):
    save_checkpoint_set(tmp_path, "latest", {"a.txt": b"old a", "b.txt": b"old b"})
    staging = staging_folder(tmp_path, "latest")
    staging.mkdir()
    (staging / "a.txt").write_bytes(b"new a")
    assert complete_interrupted_saves(tmp_path) == ["discarded an incomplete save of the 'latest' checkpoint set "
                                                    "(the previous one stays)"]
    assert (tmp_path / "a.txt").read_bytes() == b"old a" and not staging.exists()

    staging.mkdir()
    (staging / "b.txt").write_bytes(b"new b")  # a.txt was already moved when the launch was killed
    (staging / "COMMIT").write_text("a.txt\nb.txt\n")
    (tmp_path / "a.txt").write_bytes(b"new a")
    assert complete_interrupted_saves(tmp_path) == ["completed the interrupted save of the 'latest' checkpoint set"]
    assert [(tmp_path / n).read_bytes() for n in ("a.txt", "b.txt")] == [b"new a", b"new b"]
    assert not staging.exists()


def test_an_old_python_gets_one_sentence():
    result = subprocess.run([sys.executable, "-c", "import sys; sys.version_info = (3, 9, 18, 'final', 0); import util"],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip() == ("error: this project needs Python 3.10 or newer, but runs on Python 3.9; create "
                                     "the virtual environment with a newer python3 (see README).")
