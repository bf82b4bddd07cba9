"""Atomic file writes: a reader (or a kill at any moment) never sees a half-written file.

Every payload is serialised in memory first and then written with ``os.write`` in one place, so a
full disk surfaces as a plain ``ENOSPC`` here (``torch.save`` straight to a file reports it as an
"unexpected pos" RuntimeError instead) and becomes one sentence. Files get the mode a plain
``open()`` gives under the user's umask, not ``mkstemp``'s private 0600.
"""
import errno
import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

from util.errors import UserError

NO_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


class DiskFullError(UserError):
    """A file could not be written for lack of space; the message says how much is needed."""


def current_umask() -> int:
    """The process's umask, read without changing it where Linux allows (``/proc/self/status``)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path, payload: bytes) -> None:
    """Write ``payload`` to a temporary file beside ``path``, sync it, then rename it over ``path``.

    Raises:
        DiskFullError: the device is full; nothing is left behind and ``path`` is unchanged.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        try:
            os.fchmod(handle, 0o666 & ~current_umask())
            view = memoryview(payload)
            while view:
                view = view[os.write(handle, view):]
            os.fsync(handle)
        finally:
            os.close(handle)
        os.replace(temporary, path)
    except BaseException as error:
        if os.path.exists(temporary):
            os.remove(temporary)
        if isinstance(error, OSError) and error.errno in NO_SPACE_ERRNOS:
            raise DiskFullError(no_space_message(path, len(payload))) from None
        raise


def no_space_message(path: Path, needed_bytes: int, kept: str = "", what: str = "") -> str:
    """The sentence for a full disk: what was being written, the space it needs and what is free."""
    free = shutil.disk_usage(Path(path).parent).free
    kept = kept or f"{Path(path).name} keeps its previous contents"
    return (f"no space left on the device while writing {what or path}: it needs about {megabytes(needed_bytes)} "
            f"and {megabytes(free)} are free; {kept}; free some space and run the command again.")


def megabytes(count: int) -> str:
    return f"{count / 1e6:.1f} MB"


def serialized(write: Callable[[BinaryIO], None]) -> bytes:
    """The bytes ``write(f)`` writes to a file ``f``."""
    buffer = io.BytesIO()
    write(buffer)
    return buffer.getvalue()


def torch_bytes(obj) -> bytes:
    import torch  # here, so that scripts writing plain files start without loading torch

    return serialized(lambda f: torch.save(obj, f))


def atomic_write(path, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(f)`` on an in-memory file, then write its bytes atomically to ``path``."""
    atomic_write_bytes(path, serialized(write))


def atomic_torch_save(obj, path) -> None:
    atomic_write_bytes(path, torch_bytes(obj))


def check_writable_folder(path, flag: str) -> Path:
    """Check, before any work and without creating anything, that files can be written in the folder ``path``.

    Args:
        path: the output folder; it or a folder above it must exist.
        flag: the flag that named it, for the message.
    """
    path = Path(path)
    existing = next(p for p in (path.absolute(), *path.absolute().parents) if p.exists())
    if not existing.is_dir():
        raise UserError(f"{flag}: {existing} is a file, not a folder; give a folder path (or move the file away).")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"{flag}: the folder {existing} is not writable by you; give a folder you can write to, or "
                        f"change its permissions.")
    return path


def sync_folder(folder) -> None:
    """Make the renames inside ``folder`` durable (a crash after this keeps them)."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
