"""Options on disk: YAML config files, the resolved options of a run, and the reference's opt.txt/opt.pkl."""
import argparse
import os
import pickle
from pathlib import Path

import yaml

from util.errors import UserError
from util.files import atomic_write_bytes

RUN_OPTIONS_FILE = "options.yaml"
# options that describe this launch, not the run: never taken from a saved run
LAUNCH_ONLY = {"name", "checkpoints_dir", "continue_train", "config", "load_from_opt_file", "isTrain",
               "semantic_nc", "device", "start_over"}
# the machine's resources: a run started on four GPUs resumes on the GPUs and loader processes it is given now
MACHINE = {"gpu_ids", "nThreads", "dist_timeout", "memory_format"}


def load_config(path: str) -> dict:
    """Read a flat YAML mapping of option names to values (``--config``)."""
    if not os.path.isfile(path):
        raise UserError(f"--config file {path} does not exist; give the path of a YAML file of option values.")
    try:
        with open(path) as f:
            values = yaml.safe_load(f) or {}
    except yaml.YAMLError as error:
        raise UserError(f"--config file {path} is not valid YAML ({str(error).splitlines()[0]}); fix the syntax.")
    if not isinstance(values, dict):
        raise UserError(f"--config file {path} must hold a mapping of option names to values, e.g. 'batchSize: 4'.")
    return {str(k).lstrip("-"): v for k, v in values.items() if str(k).lstrip("-") not in LAUNCH_ONLY - {"name"}}


# what test.py takes from a run's saved options: how the networks are built and what the labels mean
ARCHITECTURE = {"netG", "ngf", "norm_G", "norm_E", "norm_mode", "add_dist", "dist_alignment", "label_nc",
                "contain_dontcare_label",
                "no_instance", "use_vae", "z_dim", "num_upsampling_layers", "crop_size", "aspect_ratio",
                "output_nc", "dataset_mode", "preprocess_mode", "model", "style_length"}


# what test.py takes from a run's saved options besides the architecture, unless given: where the data is
TEST_DATA = {"dataroot", "coco_no_portraits"}
# a custom-mode run's validation folders, else its training folders, are test.py's default folders
TEST_FOLDERS = {"label_dir": "val_label_dir", "image_dir": "val_image_dir", "instance_dir": "val_instance_dir"}


def restored_run_options(checkpoints_dir: str, name: str, is_train: bool = True) -> dict:
    """The options saved by an earlier launch of the run, or ``{}`` for a reference run folder without them.

    For testing the architecture and the data's location are taken, and the load size without
    the random-crop margin: the training-time data handling (random crops, flips, shuffling, the
    train phase) must not leak into test.py.
    """
    values = saved_run_values(Path(checkpoints_dir) / name)
    if is_train:
        return {k: v for k, v in values.items() if k not in LAUNCH_ONLY | MACHINE}
    restored = {k: v for k, v in values.items() if k in ARCHITECTURE | TEST_DATA}
    for folder, validation_folder in TEST_FOLDERS.items():
        if values.get(validation_folder) or values.get(folder):
            restored[folder] = values.get(validation_folder) or values[folder]
    if {"preprocess_mode", "load_size", "crop_size"} <= set(values):
        restored["load_size"] = load_size_at_test_time(argparse.Namespace(**values))
    return restored


def saved_run_values(folder: Path) -> dict:
    """All options saved in a run folder (``options.yaml``, else the reference's ``opt.pkl``), or ``{}``."""
    yaml_file, pickle_file = folder / RUN_OPTIONS_FILE, folder / "opt.pkl"
    if yaml_file.is_file():
        return _read_saved_options(yaml_file, lambda f: yaml.safe_load(f) or {})
    if pickle_file.is_file():
        return _read_saved_options(pickle_file, lambda f: vars(pickle.load(f)))
    return {}


def _read_saved_options(path: Path, read) -> dict:
    """The option mapping ``read`` gets from the file, or one sentence on what is wrong with it."""
    fix = (f"restore it from a backup, or delete it and give every option of the run on the command line "
           f"(the run's opt.txt lists them)")
    try:
        with open(path, "rb") as f:
            values = read(f)
    except (yaml.YAMLError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError,
            ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(f"the run's saved options {path} are damaged ({reason}); {fix}.") from None
    if not isinstance(values, dict):
        raise UserError(f"the run's saved options {path} hold a {type(values).__name__}, not a mapping of option "
                        f"names to values; {fix}.")
    return values


def load_size_at_test_time(opt) -> int:
    """``--load_size`` without the random-crop margin: what the reference's test defaults use.

    The ``*_and_crop`` modes resize to ``load_size`` and crop ``crop_size`` at a random place;
    at ``load_size = crop_size`` the resize already gives the crop size (whole square pictures;
    scale_width/scale_shortside keep what overhangs on the long side of other shapes, cropped at
    a place fixed per sample, the same for real and generated images and every evaluation).
    The other modes do not crop, or crop from the stored size (``crop``), and keep their size.

    Args:
        opt: options; reads ``preprocess_mode``, ``load_size``, ``crop_size``.
    """
    return opt.crop_size if opt.preprocess_mode.endswith("_and_crop") else opt.load_size


def save_run_options(folder: Path, fields: dict, defaults: dict) -> None:
    """Write ``options.yaml`` (ours, read on resume), ``opt.txt`` and ``opt.pkl`` (the reference's)."""
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(folder / RUN_OPTIONS_FILE, yaml.safe_dump(dict(sorted(fields.items()))).encode())
    atomic_write_bytes(folder / "opt.txt", format_opt_txt(fields, defaults).encode())
    atomic_write_bytes(folder / "opt.pkl", pickle.dumps(argparse.Namespace(**fields)))


def format_opt_txt(fields: dict, defaults: dict) -> str:
    """One line per option sorted by name, ``[default: X]`` where the value differs (docs/reference.md §5.4)."""
    lines = []
    for key, value in sorted(fields.items()):
        default = defaults.get(key)
        comment = f"\t[default: {default}]" if value != default else ""
        lines.append("{:>25}: {:<30}{}\n".format(str(key), str(value), comment))
    return "".join(lines)
