"""scripts/benchmark.py --reference: ours and a reference code base timed side by side, alternating.

The reference checkouts here are stand-ins with the entry points and the flaws the runner
(scripts/reference_code.py) patches: CLADE's dataset returns three path lists where four are
unpacked; SEAN gives Adam an int beta and moves its noise with ``.cuda()``. Each stand-in fails
if its patch is missing and records the flags it was given.
"""
import json
import statistics
import textwrap

from conftest import assert_one_sentence, run_script

OPTIONS = '''
import argparse, json, os, sys
class TrainOptions:
    def parse(self):
        parser = argparse.ArgumentParser()
        parser.add_argument("--batchSize", type=int, default=1)
        parser.add_argument("--crop_size", type=int, default=256)
        parser.add_argument("--aspect_ratio", type=float, default=1.0)
        opt, _ = parser.parse_known_args()
        with open(os.environ["STAND_IN_LOG"], "a") as log:
            log.write(json.dumps(sys.argv[1:]) + "\\n")
        return opt
'''
TRAINER = '''
import time
from models.pix2pix_model import Pix2PixModel
class Pix2PixTrainer:
    def __init__(self, opt):
        self.pix2pix_model = Pix2PixModel()
        self.optimizer = self.pix2pix_model.create_optimizers(opt)
    def run_generator_one_step(self, data):
        time.sleep(0.2)
        self.pix2pix_model(data, "generator")
    def run_discriminator_one_step(self, data):
        time.sleep(0.1)
'''
MODEL = '''
import time, torch
from models.networks.normalization import {norm}
class Pix2PixModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = {norm}()
    def create_optimizers(self, opt):
        beta1, beta2 = {betas}
        return torch.optim.Adam(self.norm.parameters(), betas=(beta1, beta2))
    def forward(self, data, mode):
        if mode == "inference":
            time.sleep(0.05)
        return self.norm(data["image"])
'''
NORMALIZATION = '''
import torch
class {norm}(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(1))
    def forward(self, x):
        return x * self.weight + torch.zeros(1){move}
'''
DATASET = '''
class CustomDataset:
    def get_paths(self, opt):
        return [], [], []
'''
TRAIN = '''
import os, sys, time
from data.custom_dataset import CustomDataset
from options.train_options import TrainOptions
labels, images, instances, positional = CustomDataset().get_paths(TrainOptions().parse())
time.sleep(0.3)
'''


def stand_in(folder, code_base: str):
    """Write a stand-in checkout of ``code_base`` ("CLADE" or "SEAN") into ``folder``."""
    norm, betas, move = ("ClassAffine", "0.0, 0.9", "") if code_base == "CLADE" else ("ACE", "0, 0.9", ".cuda()")
    files = {"options/train_options.py": OPTIONS, "trainers/pix2pix_trainer.py": TRAINER,
             "models/pix2pix_model.py": MODEL.format(norm=norm, betas=betas),
             "models/networks/normalization.py": NORMALIZATION.format(norm=norm, move=move),
             "data/custom_dataset.py": DATASET, "train.py": TRAIN}
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    for package in ("options", "trainers", "models", "models/networks", "data"):
        (folder / package / "__init__.py").touch()
    # the packages the reference needs and we do not, as the little torch asks of dill when it is there
    (folder / "dill.py").write_text("def extend(use_dill=True):\n    pass\n")
    (folder / "dominate.py").touch()
    return folder


def stand_in_env(tmp_path, monkeypatch):
    """Where the stand-ins log the flags they are given."""
    monkeypatch.setenv("STAND_IN_LOG", str(tmp_path / "flags.log"))
    return tmp_path / "flags.log"


def logged_flags(log) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_side_by_side_with_clade_checkout(tmp_path, monkeypatch):
    log = stand_in_env(tmp_path, monkeypatch)
    reference = stand_in(tmp_path / "CLADE", "CLADE")
    out = tmp_path / "figures.json"
    result = run_script("scripts/benchmark.py", "--preset", "toy-clade", "--reference", reference, "--rounds", "2",
                        "--iterations", "1", "--warmup", "0", "--whole_run_epochs", "1", "--json", out,
                        "--", "--ngf", "8", "--ndf", "8")
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(out.read_text())
    figures = results["figures"]
    assert set(figures) == {"training step", "inference", "peak RSS (GiB)", "whole train.py"}
    assert all(len(sides["ours"]) == len(sides["reference"]) == 2 for sides in figures.values())
    # the stand-in sleeps 0.3 s per step, 0.05 s per inference and 0.3 s per whole run
    assert all(0.3 <= seconds < 3 for seconds in figures["training step"]["reference"])
    assert all(0.05 <= seconds < 1 for seconds in figures["inference"]["reference"])
    assert all(seconds >= 0.3 for seconds in figures["whole train.py"]["reference"])
    assert all(seconds > 0 for seconds in figures["training step"]["ours"] + figures["whole train.py"]["ours"])
    # two timed steps and two whole runs of the reference, with the preset's flags and without ours after --
    runs = logged_flags(log)
    assert len(runs) == 4
    assert all(run[run.index("--norm_mode") + 1] == "clade" and run[run.index("--ngf") + 1] == "16" for run in runs)
    # our whole runs take the flags after --, the reference's do not
    ours = results["flags"]["ours"]
    assert ours[-4:] == ["--ngf", "8", "--ndf", "8"] and "--ngf" not in results["flags"]["reference"][-4:]
    lines = result.stdout.strip().splitlines()
    assert lines[-1].startswith("benchmark toy-clade: ours/reference training step ")
    step = figures["training step"]
    assert float(lines[-1].split()[-1]) == round(statistics.median(step["ours"]) / statistics.median(step["reference"]), 2)
    assert any(line.startswith("whole train.py") for line in lines)


def test_side_by_side_with_sean_checkout(tmp_path, monkeypatch):
    log = stand_in_env(tmp_path, monkeypatch)
    reference = stand_in(tmp_path / "SEAN", "SEAN")
    out = tmp_path / "figures.json"
    result = run_script("scripts/benchmark.py", "--preset", "celebamaskhq-sean", "--reference", reference,
                        "--rounds", "1", "--iterations", "1", "--warmup", "0", "--json", out, "--",
                        "--load_size", "64", "--crop_size", "64", "--ngf", "4", "--ndf", "4", "--style_length", "8")
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(out.read_text())["figures"]
    assert 0.3 <= figures["training step"]["reference"][0] < 3
    # SEAN's code has no --norm_mode; it gets the preset's other flags
    (run,) = logged_flags(log)
    assert "--norm_mode" not in run and run[run.index("--crop_size") + 1] == "256"


def test_reference_of_the_wrong_code_base(tmp_path, monkeypatch):
    stand_in_env(tmp_path, monkeypatch)
    sean = stand_in(tmp_path / "SEAN", "SEAN")
    result = run_script("scripts/benchmark.py", "--preset", "toy-spade", "--reference", sean)
    assert_one_sentence(result, "--preset toy-spade is timed against CLADE's code", "github.com/tzt101/CLADE")
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_script("scripts/benchmark.py", "--preset", "celebamaskhq-sean", "--reference", empty)
    assert_one_sentence(result, f"--reference {empty} is not a checkout", "github.com/ZPdesu/SEAN")


def test_failing_reference_is_reported(tmp_path, monkeypatch):
    stand_in_env(tmp_path, monkeypatch)
    reference = stand_in(tmp_path / "CLADE", "CLADE")
    (reference / "trainers/pix2pix_trainer.py").write_text("raise ImportError('its trainer is broken')\n")
    result = run_script("scripts/benchmark.py", "--preset", "toy-clade", "--reference", reference, "--rounds", "1",
                        "--iterations", "1", "--warmup", "0", "--", "--ngf", "4", "--ndf", "4")
    # its own traceback is shown, indented, above one sentence of ours
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == "error: the reference step process exited with code 1 (the end of its output is above)."
    assert "    ImportError: its trainer is broken" in lines
    assert not any("benchmark.py" in line for line in lines if line.strip().startswith("File "))
