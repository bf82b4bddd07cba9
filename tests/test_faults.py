"""The fault battery: damaged, missing and misplaced files, typos, divergence, a full disk and kills while saving.

Every case runs a real script as a subprocess on a copy of one trained toy run and asserts the
one-sentence message, exit code 1, and that every file of the run folder that existed before is
byte-identical afterwards. The cases run a few at a time, each in its own folder.
"""
import hashlib
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
from PIL import Image

import warm_interpreter
from conftest import DATA64, REPO, assert_one_sentence, assert_same_weights

TOOL = REPO / "tests" / "tools" / "with_fault.py"
TOY = ["--gpu_ids", "-1", "--dataset_mode", "custom", "--label_nc", "19", "--no_instance", "--norm_mode", "clade",
       "--ngf", "8", "--ndf", "8", "--load_size", "64", "--crop_size", "64", "--no_vgg_loss", "--batchSize", "4",
       "--print_freq", "8", "--save_latest_freq", "8"]
CONCURRENT_CASES = 3


def run_python(args, cwd=REPO, umask=None, env=None) -> subprocess.CompletedProcess:
    return warm_interpreter.run(args, cwd, {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}, umask=umask)


def toy_training(folder: Path, name: str, data: Path = DATA64, *extra) -> list:
    return [REPO / "train.py", "--name", name, *TOY, "--checkpoints_dir", folder,
            "--label_dir", data / "labels", "--image_dir", data / "images", *extra]


def digests(folder: Path) -> dict:
    return {p.relative_to(folder): hashlib.sha1(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A toy run of one epoch (4 iterations), trained under umask 022; its folder is ``<returned>/run``."""
    checkpoints = tmp_path_factory.mktemp("trained")
    result = run_python(toy_training(checkpoints, "run", DATA64, "--niter", "1"), umask=0o022)
    assert result.returncode == 0, result.stderr
    return checkpoints


# ---- the cases -----------------------------------------------------------------------------------------------
@dataclass
class Case:
    """One fault: how to make it in a work folder W (``W/checkpoints/run``, ``W/data``), the command, the message."""
    name: str
    command: Callable[[Path], list]
    fragments: tuple
    prepare: Callable[[Path], None] = lambda work: None
    env: dict = field(default_factory=dict)
    trains: bool = False  # the run trains (and logs) before the fault: only the checkpoints must stay as they were


def run_dir(work: Path) -> Path:
    return work / "checkpoints" / "run"


def resume(*extra) -> Callable[[Path], list]:
    return lambda work: [REPO / "train.py", "--name", "run", "--checkpoints_dir", work / "checkpoints",
                         "--continue_train", *extra]


def fresh(*extra, name="fresh") -> Callable[[Path], list]:
    return lambda work: toy_training(work / "checkpoints", name, work / "data", *extra)


def inference(*extra) -> Callable[[Path], list]:
    return lambda work: [REPO / "test.py", "--name", "run", "--checkpoints_dir", work / "checkpoints",
                         "--load_from_opt_file", "--label_dir", work / "data" / "labels", "--image_dir",
                         work / "data" / "images", "--gpu_ids", "-1", "--results_dir", work / "results", *extra]


def fid_score(*paths) -> Callable[[Path], list]:
    return lambda work: [REPO / "scripts" / "fid_score.py", *[work / p if isinstance(p, str) else p for p in paths]]


def write(relative: str, content) -> Callable[[Path], None]:
    def prepare(work: Path) -> None:
        path = work / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return prepare


def delete(relative: str) -> Callable[[Path], None]:
    return lambda work: (work / relative).unlink()


def torch_file(relative: str, obj) -> Callable[[Path], None]:
    return lambda work: torch.save(obj, work / relative)


def edit_state(**changes) -> Callable[[Path], None]:
    def prepare(work: Path) -> None:
        path = run_dir(work) / "latest_training_state.pth"
        state = torch.load(path, weights_only=False)
        state.update(changes)
        torch.save(state, path)
    return prepare


def truncate(relative: str) -> Callable[[Path], None]:
    def prepare(work: Path) -> None:
        path = work / relative
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return prepare


def set_label_pixel(value: int) -> Callable[[Path], None]:
    def prepare(work: Path) -> None:
        path = work / "data" / "labels" / "00002.png"
        label = np.asarray(Image.open(path)).copy()
        label[0, 0] = value
        Image.fromarray(label).save(path)
    return prepare


NO_WEIGHTS = {"TORCH_HOME": "/nonexistent/torch_home"}  # FID cases must fail before looking for Inception
RUN = "checkpoints/run"
CASES = [
    # the run's own files, damaged or missing
    Case("options_yaml_not_yaml", resume(), ("options.yaml", "damaged", "opt.txt"),
         write(f"{RUN}/options.yaml", "batchSize: [4\nniter: 2\n")),
    Case("options_yaml_not_a_mapping", resume(), ("options.yaml", "not a mapping"), write(f"{RUN}/options.yaml", "- 4\n")),
    Case("options_yaml_wrong_type", resume(), ("batchSize", "'four'", "type int"),
         write(f"{RUN}/options.yaml", "batchSize: four\n")),
    Case("opt_pkl_damaged_without_yaml", resume(), ("opt.pkl", "damaged"),
         lambda work: (delete(f"{RUN}/options.yaml")(work), write(f"{RUN}/opt.pkl", b"\x80\x04garbage")(work))),
    Case("training_state_damaged", resume(), ("latest_training_state.pth", "cannot be read"),
         truncate(f"{RUN}/latest_training_state.pth")),
    Case("training_state_from_newer_version", resume(), ("format version 99", "newer version", "update the code"),
         edit_state(format_version=99)),
    Case("training_state_lacks_fields", resume(), ("latest_training_state.pth", "lacks optimizer_G"),
         lambda work: _drop_state_field(work, "optimizer_G")),
    Case("training_state_not_a_dict", resume(), ("latest_training_state.pth", "not a training state"),
         torch_file(f"{RUN}/latest_training_state.pth", [1, 2, 3])),
    Case("discriminator_damaged", resume(), ("latest_net_D.pth", "cannot be read"), truncate(f"{RUN}/latest_net_D.pth")),
    Case("discriminator_missing", resume(), ("latest_net_D.pth", "does not exist", "1"), delete(f"{RUN}/latest_net_D.pth")),
    Case("generator_holds_no_state_dict", resume(), ("latest_net_G.pth", "not a network's state_dict"),
         torch_file(f"{RUN}/latest_net_G.pth", {"epoch": 3})),
    Case("no_state_and_no_iter_txt", resume(), ("neither a training state nor a readable iter.txt",),
         lambda work: (delete(f"{RUN}/latest_training_state.pth")(work), write(f"{RUN}/iter.txt", "x\n")(work))),
    Case("resume_with_other_width", resume("--ngf", "16"), ("latest_net_G.pth", "--ngf")),
    # run folders and output paths
    Case("existing_run_without_continue", fresh("--niter", "1", name="run"), ("already holds a run", "--start_over")),
    Case("continue_a_run_that_does_not_exist", lambda work: [REPO / "train.py", "--name", "ghost", "--continue_train",
                                                             "--checkpoints_dir", work / "checkpoints"],
         ("holds no checkpoint", "ghost")),
    Case("checkpoints_dir_is_a_file", lambda work: toy_training(work / "checkpoints" / "run" / "opt.txt", "x",
                                                                work / "data"), ("opt.txt", "is a file")),
    Case("results_dir_is_a_file", inference("--results_dir", "placeholder"), ("--results_dir", "is a file"),
         write("results_file", "x")),
    # config files
    Case("config_key_typo", fresh("--config", "PLACEHOLDER"), ("'nitre'", "did you mean niter?"),
         write("run.yaml", "nitre: 3\n")),
    Case("config_key_of_test_py", fresh("--config", "PLACEHOLDER"), ("'how_many'", "option of test.py"),
         write("run.yaml", "how_many: 3\n")),
    Case("config_key_of_train_py_given_to_test_py", inference("--config", "PLACEHOLDER"),
         ("'niter'", "option of train.py"), write("run.yaml", "niter: 3\n")),
    Case("config_key_of_another_dataset_mode", fresh("--config", "PLACEHOLDER", "--dataset_mode", "coco"),
         ("'label_dir'", "--dataset_mode custom"), write("run.yaml", "label_dir: labels\n")),
    Case("config_not_yaml", fresh("--config", "PLACEHOLDER"), ("run.yaml", "not valid YAML"), write("run.yaml", "a: [\n")),
    Case("config_missing", fresh("--config", "PLACEHOLDER"), ("run.yaml", "does not exist")),
    Case("config_bad_value", fresh("--config", "PLACEHOLDER"), ("norm_mode", "cladish"),
         write("run.yaml", "norm_mode: cladish\n")),
    # data
    Case("image_without_label", fresh(), ("1 image(s) have no label file", "00016.jpg", "17 images"),
         lambda work: shutil.copy(work / "data" / "images" / "00003.jpg", work / "data" / "images" / "00016.jpg")),
    Case("label_without_image", fresh(), ("1 label file(s) have no image", "00007.png", "15 images"),
         delete("data/images/00007.jpg")),
    Case("label_id_beyond_label_nc", fresh(), ("00002.png", "class id 30", "--label_nc"), set_label_pixel(30)),
    Case("truncated_photo", fresh(), ("00005.jpg",), truncate("data/images/00005.jpg")),
    Case("batch_larger_than_dataset", fresh("--batchSize", "32"), ("16 samples", "--batchSize 32")),
    Case("validation_set_missing_before_inception_loads",
         fresh("--train_eval", "--val_label_dir", "nowhere", "--val_image_dir", "nowhere"),
         ("--train_eval needs a validation set", "nowhere"), env=NO_WEIGHTS),
    Case("vgg_weights_missing", lambda work: [arg for arg in fresh("--vgg_weights", work / "vgg.pth")(work)
                                              if arg != "--no_vgg_loss"], ("--vgg_weights", "vgg.pth", "does not exist")),
    # divergence: the loss check at logging time, and the weight check before a save
    Case("exploding_losses", resume("--niter", "2", "--lr", "1e30"), ("training diverged", "not finite",
                                                                       "last saved at iteration 4", "--lr"),
         trains=True),
    Case("exploding_weights_before_a_save", resume("--niter", "2", "--lr", "1e30", "--print_freq", "1000"),
         ("training diverged", "weights of net_", "left unchanged"), trains=True),
    # a full disk: the first checkpoint save of the resumed run cannot be written
    Case("disk_full_while_saving", lambda work: [TOOL, "full-disk", 20000, work / "checkpoints",
                                                 *resume("--niter", "2")(work)],
         ("no space left", "latest", "previous 'latest' checkpoint set is intact", "MB"), trains=True),
    # test.py
    Case("test_generator_damaged", inference(), ("latest_net_G.pth", "cannot be read"), truncate(f"{RUN}/latest_net_G.pth")),
    Case("test_missing_epoch", inference("--which_epoch", "7"), ("7_net_G.pth", "does not exist", "latest")),
    Case("test_average_missing", inference("--use_ema"), ("latest_net_G_ema.pth", "does not exist")),
    Case("test_options_damaged", inference(), ("options.yaml", "damaged"), write(f"{RUN}/options.yaml", "{x: [\n")),
    # scripts
    Case("fid_empty_folder", fid_score("empty", "empty2"), ("empty", "holds no"),
         lambda work: ((work / "empty").mkdir(), (work / "empty2").mkdir()), NO_WEIGHTS),
    Case("fid_one_image", fid_score("one", DATA64 / "images"), ("one", "only 1 image"),
         lambda work: ((work / "one").mkdir(), shutil.copy(DATA64 / "images" / "00000.jpg", work / "one")), NO_WEIGHTS),
    Case("fid_damaged_statistics", fid_score("stats.npz", DATA64 / "images"), ("stats.npz", "cannot be read"),
         write("stats.npz", b"PK\x03\x04broken"), NO_WEIGHTS),
    Case("fid_save_stats_under_a_file", lambda work: [REPO / "scripts" / "fid_score.py", DATA64 / "images",
                                                      "--save-stats", work / "results_file" / "real.npz"],
         ("--save-stats", "is a file"), write("results_file", "x"), NO_WEIGHTS),
    Case("fid_weights_missing", lambda work: [REPO / "scripts" / "fid_score.py", DATA64 / "images", DATA64 / "images",
                                              "--weights", work / "nowhere.pth"], ("--weights", "does not exist")),
    Case("demo_dataset_out_under_a_file", lambda work: [REPO / "scripts" / "make_demo_dataset.py", "--out",
                                                        work / "results_file" / "demo"], ("--out", "is a file"),
         write("results_file", "x")),
    Case("dist_maps_out_dir_is_a_file", lambda work: [REPO / "scripts" / "compute_dist_maps.py", "--label_dir",
                                                      work / "data" / "labels", "--out_dir", work / "results_file"],
         ("--out_dir", "is a file"), write("results_file", "x")),
    Case("prepare_celebamaskhq_out_is_a_file", lambda work: [REPO / "scripts" / "prepare_celebamaskhq.py", "--root",
                                                             work / "nowhere", "--out", work / "results_file"],
         ("--out", "is a file"), write("results_file", "x")),
    Case("check_dataset_missing_folder", lambda work: [REPO / "scripts" / "check_dataset.py", "--dataset_mode",
                                                       "custom", "--label_dir", work / "nowhere", "--image_dir",
                                                       work / "data" / "images"], ("--label_dir", "not a folder")),
]


def _drop_state_field(work: Path, name: str) -> None:
    path = run_dir(work) / "latest_training_state.pth"
    state = torch.load(path, weights_only=False)
    del state[name]
    torch.save(state, path)


def _command(case: Case, work: Path) -> list:
    """The case's command, with PLACEHOLDER and 'placeholder' standing for files of the work folder."""
    replacements = {"PLACEHOLDER": work / "run.yaml", "placeholder": work / "results_file"}
    return [replacements.get(arg, arg) if isinstance(arg, str) else arg for arg in case.command(work)]


def _run_case(case: Case, trained: Path, root: Path) -> tuple:
    work = root / case.name
    shutil.copytree(trained, work / "checkpoints")
    shutil.copytree(DATA64, work / "data")
    case.prepare(work)
    before = digests(run_dir(work))
    result = run_python(_command(case, work), cwd=work, env=case.env)
    after = digests(run_dir(work))
    return result, before, after, work


@pytest.fixture(scope="module")
def outcomes(trained, tmp_path_factory, request) -> dict:
    """The outcome of every selected case, run a few at a time."""
    selected = {item.callspec.params["case"].name for item in request.session.items
                if "case" in getattr(getattr(item, "callspec", None), "params", {})}
    root = tmp_path_factory.mktemp("faults")
    with ThreadPoolExecutor(CONCURRENT_CASES) as pool:
        futures = {case.name: pool.submit(_run_case, case, trained, root) for case in CASES if case.name in selected}
    return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_fault_gives_one_sentence_and_changes_nothing(case, outcomes):
    result, before, after, work = outcomes[case.name]
    assert_one_sentence(result, *case.fragments)
    kept = [path for path in before if not case.trains or path.suffix == ".pth" or path.name == "iter.txt"]
    assert len(kept) >= 6 and {path: after.get(path) for path in kept} == {path: before[path] for path in kept}
    leftovers = [p for p in (work / "checkpoints").rglob(".*") if p.name.endswith((".tmp", ".saving"))]
    assert leftovers == []


def test_battery_is_large_enough():
    assert len(CASES) >= 30


# ---- a kill at every step of a save --------------------------------------------------------------------------
KILL_RUN = ["--niter", "2"]  # 16 samples, 4 per batch: latest saved at iterations 2, 4, 6, 8, then at the end
SAVE_AT_ITERATION_6 = 3


def test_kill_at_every_step_of_a_save_resumes_bit_exact(tmp_path):
    """Every state a kill during the save at iteration 6 can leave on disk resumes to the unbroken run's weights.

    The snapshotting run itself goes on to the end: it is the unbroken run. It trains under umask
    077, so its files must come out private.
    """
    snapshots = tmp_path / "snapshots"
    unbroken = tmp_path / "unbroken"
    result = run_python([TOOL, "snapshot-save", SAVE_AT_ITERATION_6, snapshots,
                         *toy_training(unbroken, "run", DATA64, *KILL_RUN)], umask=0o077)
    assert result.returncode == 0, result.stderr
    assert_modes(unbroken / "run", file_mode=0o600, folder_mode=0o700)
    states = sorted(snapshots.iterdir(), key=lambda p: int(p.name))
    assert len(states) == 10  # before the save; 4 files staged; COMMIT; 4 files moved into place

    def resume_from(state: Path) -> subprocess.CompletedProcess:
        checkpoints = tmp_path / "resumed" / state.name
        shutil.copytree(state, checkpoints / "run")
        return run_python([REPO / "train.py", "--name", "run", "--checkpoints_dir", checkpoints, "--continue_train"])

    with ThreadPoolExecutor(2) as pool:
        resumed = list(pool.map(resume_from, states))
    for state, result in zip(states, resumed):
        assert result.returncode == 0, (state.name, result.stderr)
        committed = int(state.name) >= 6
        assert f"(iteration {6 if committed else 4})" in result.stdout, (state.name, result.stdout)
        assert "2 epochs, 8 iterations" in result.stdout
        folder = tmp_path / "resumed" / state.name / "run"
        for label in ("G", "D"):
            assert_same_weights(unbroken / "run" / f"latest_net_{label}.pth", folder / f"latest_net_{label}.pth")
        assert not list(folder.glob(".*"))


# ---- permissions -----------------------------------------------------------------------------------------------
def assert_modes(folder: Path, file_mode: int, folder_mode: int) -> None:
    paths = [folder, *folder.rglob("*")]
    wrong = {str(p.relative_to(folder)): oct(p.stat().st_mode & 0o777) for p in paths
             if p.stat().st_mode & 0o777 != (folder_mode if p.is_dir() else file_mode)}
    assert wrong == {}


def test_files_of_a_run_follow_umask_022(trained):
    assert_modes(trained / "run", file_mode=0o644, folder_mode=0o755)
    assert {"latest_net_G.pth", "latest_training_state.pth", "options.yaml", "opt.txt", "loss_log.txt",
            "iter.txt"} <= {p.name for p in (trained / "run").iterdir()}
