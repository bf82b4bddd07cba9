"""Everything besides the weights that an exact resume needs, in ``<which>_training_state.pth``."""
import random
from pathlib import Path

import numpy as np
import torch

from util.errors import UserError
from util.files import atomic_torch_save

STATE_FILE = "{which}_training_state.pth"


def state_path(folder: Path, which: str) -> Path:
    return Path(folder) / STATE_FILE.format(which=which)


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


def save_training_state(folder: Path, which: str, state: dict) -> Path:
    """Write the state (optimizers, scalers, counters, RNG states of every process, ...) atomically."""
    path = state_path(folder, which)
    atomic_torch_save(state, path)
    return path


def load_training_state(folder: Path, which: str) -> dict | None:
    """The saved state, or None when the run folder has none (e.g. a reference run)."""
    path = state_path(folder, which)
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:
        raise UserError(f"training state {path} cannot be read ({type(error).__name__}); delete it to resume from "
                        f"the weights alone.")
