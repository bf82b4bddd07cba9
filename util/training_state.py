"""What a checkpoint set and a training state hold: the one definition, with a format version.

A checkpoint set ``<which>`` is the files one save writes together (``util/checkpoint_set.py``):

* ``<which>_net_<G|D|E|G_ema>.pth``: bare state_dicts in the reference's layout (``util/checkpoint.py``);
* for ``latest`` also ``latest_training_state.pth`` (below) and the reference's ``iter.txt``.

The training state is everything besides the weights that an exact resume needs, a dict of:

* ``format_version``: ``FORMAT_VERSION`` of the code that wrote it;
* ``optimizer_G``, ``optimizer_D``: Adam state_dicts (moments, step counts, learning rates);
* ``scaler_G``, ``scaler_D``: GradScaler state_dicts (empty without fp16 autocast);
* ``counter``: ``IterationCounter.state_dict()`` (epoch, images in it, totals, batch index);
* ``rng``: one ``capture_rng_states()`` per process, in rank order;
* ``evaluation`` (only with ``--train_eval``): the best FID and its epoch.

Version history: 0 = states written before the version was recorded (the same fields, no
``format_version``); 1 = the fields above.
"""
import random
from pathlib import Path

import numpy as np
import torch

from util.checkpoint import cpu_state_dict, network_file
from util.errors import UserError

FORMAT_VERSION = 1
REQUIRED_FIELDS = ("optimizer_G", "optimizer_D", "scaler_G", "scaler_D", "counter", "rng")
OPTIONAL_FIELDS = ("evaluation",)
STATE_FILE = "{which}_training_state.pth"
ITER_FILE = "iter.txt"


def state_path(folder: Path, which: str) -> Path:
    return Path(folder) / STATE_FILE.format(which=which)


def checkpoint_set_files(which: str, networks: dict, training_state: dict | None = None,
                         epoch_and_images: tuple[int, int] | None = None) -> dict:
    """The files of one checkpoint set: final name → content for ``save_checkpoint_set``.

    Args:
        which: ``latest``, ``best`` or an epoch number.
        networks: label (``G``, ``D``, ``E``, ``G_ema``) → module; saved as CPU state_dicts.
        training_state: from ``training_state`` (``latest`` only).
        epoch_and_images: where the run stands, for the reference's ``iter.txt`` (``latest`` only).
    """
    files = {network_file(which, label): cpu_state_dict(network) for label, network in networks.items()}
    if training_state is not None:
        files[STATE_FILE.format(which=which)] = training_state
    if epoch_and_images is not None:
        epoch, images = epoch_and_images
        files[ITER_FILE] = f"{epoch}\n{images}\n".encode()
    return files


def training_state(**fields) -> dict:
    """A training state of the current format from exactly the fields listed in the module doc."""
    unknown = set(fields) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS)
    missing = set(REQUIRED_FIELDS) - set(fields)
    if unknown or missing:
        raise ValueError(f"a training state holds {REQUIRED_FIELDS} (+ {OPTIONAL_FIELDS}); "
                         f"unknown {sorted(unknown)}, missing {sorted(missing)}")
    return {"format_version": FORMAT_VERSION, **fields}


def load_training_state(folder: Path, which: str) -> dict | None:
    """The saved state in the current format, or None when the run folder has none (e.g. a reference run).

    Raises:
        UserError: the file is damaged, was written by a newer version, or lacks fields.
    """
    path = state_path(folder, which)
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:
        raise UserError(f"training state {path} cannot be read ({type(error).__name__}); delete it to resume from "
                        f"the weights alone.") from None
    if not isinstance(state, dict):
        raise UserError(f"training state {path} is not a training state ({type(state).__name__}); delete it to "
                        f"resume from the weights alone.")
    version = state.get("format_version", 0)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise UserError(f"training state {path} has format version {version}, written by a newer version of this "
                        f"project (this one reads up to {FORMAT_VERSION}); update the code to resume this run.")
    missing = [field for field in REQUIRED_FIELDS if field not in state]
    if missing:
        raise UserError(f"training state {path} lacks {', '.join(missing)} (format version {version}); delete it to "
                        f"resume from the weights alone.")
    return {**state, "format_version": FORMAT_VERSION}


def capture_rng_states() -> dict:
    states = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict) -> None:
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available() and len(states["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(states["cuda"])
