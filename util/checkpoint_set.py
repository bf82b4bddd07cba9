"""Saving a checkpoint set (e.g. ``latest``: weights, training state, ``iter.txt``) as one unit.

Each file alone is written atomically, but a resume needs the files to agree: weights of
iteration 18 with the optimizer and counters of iteration 17 resume silently wrong. So a set is
saved in three steps:

1. every file goes into a staging folder ``.<which>.saving/`` inside the run folder;
2. ``COMMIT``, listing the files, is written into it atomically: from here on the set counts as saved;
3. the files are renamed over their final names and the staging folder is removed.

A launch that finds a staging folder (the previous one was killed) completes it:
with ``COMMIT`` it finishes step 3, without it the staging folder is deleted. Either way a resume
sees the whole new set or the whole previous one, and the final files keep the reference's names.
"""
import os
import shutil
from pathlib import Path

from util.errors import UserError
from util.files import DiskFullError, atomic_write_bytes, no_space_message, sync_folder, torch_bytes

STAGING_SUFFIX = ".saving"
COMMIT_FILE = "COMMIT"


def staging_folder(folder: Path, which: str) -> Path:
    return Path(folder) / f".{which}{STAGING_SUFFIX}"


def save_checkpoint_set(folder: Path, which: str, files: dict) -> None:
    """Save ``files`` (final name → bytes, or an object for ``torch.save``) into ``folder`` as one unit.

    Args:
        folder: the run folder.
        which: the set's name (``latest``, ``best``, an epoch); names the staging folder.
        files: what to write; objects are serialised one at a time.

    Raises:
        DiskFullError: the device filled up; the staging folder is removed and the previous set is intact.
    """
    folder = Path(folder)
    staging = staging_folder(folder, which)
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    written, name = 0, COMMIT_FILE
    try:
        for name, content in files.items():
            payload = content if isinstance(content, bytes) else torch_bytes(content)
            written += len(payload)
            atomic_write_bytes(staging / name, payload)
        sync_folder(staging)
        name = COMMIT_FILE
        atomic_write_bytes(staging / COMMIT_FILE, "".join(f"{final}\n" for final in files).encode())
    except BaseException as error:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(error, DiskFullError):
            needed = max(written, sum(_size(folder / final) for final in files))
            raise DiskFullError(no_space_message(
                folder / name, needed, f"the previous '{which}' checkpoint set is intact",
                f"the '{which}' checkpoint set to {folder} ({name})")) from None
        raise
    _move_into_place(staging, folder)


def complete_interrupted_saves(folder: Path) -> list[str]:
    """Finish or undo the saves a killed launch left in ``folder``; returns one note per set handled."""
    notes = []
    for staging in sorted(Path(folder).glob(f".*{STAGING_SUFFIX}")):
        which = staging.name[1:-len(STAGING_SUFFIX)]
        if (staging / COMMIT_FILE).is_file():
            _move_into_place(staging, Path(folder))
            notes.append(f"completed the interrupted save of the '{which}' checkpoint set")
        else:
            shutil.rmtree(staging)
            notes.append(f"discarded an incomplete save of the '{which}' checkpoint set (the previous one stays)")
    return notes


def _move_into_place(staging: Path, folder: Path) -> None:
    try:
        names = (staging / COMMIT_FILE).read_text().split()
    except OSError as error:
        raise UserError(f"cannot read {staging / COMMIT_FILE} ({error}); delete {staging} to resume from the "
                        f"previous checkpoint set.") from None
    for name in names:
        if (staging / name).is_file():  # absent: already moved before a kill
            os.replace(staging / name, folder / name)
    sync_folder(folder)
    shutil.rmtree(staging)


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0
