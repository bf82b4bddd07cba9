"""Atomic file writes: a reader (or a kill at any moment) never sees a half-written file."""
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable


def atomic_write(path, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(f)`` on a temporary file beside ``path``, sync it, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def atomic_write_bytes(path, payload: bytes) -> None:
    atomic_write(path, lambda f: f.write(payload))


def atomic_torch_save(obj, path) -> None:
    import torch  # here, so that scripts writing plain files start without loading torch

    atomic_write(path, lambda f: torch.save(obj, f))
