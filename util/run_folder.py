"""Starting or resuming a run folder without ever damaging an existing run."""
import shutil
from contextlib import contextmanager
from pathlib import Path

from util.checkpoint_set import complete_interrupted_saves
from util.errors import UserError
from util.files import check_writable_folder


def prepare_run_folder(opt) -> Path:
    """Check that ``--name`` may be started or resumed as asked; clear temp files a kill left behind.

    A folder that already holds checkpoints is only touched with ``--continue_train`` or
    ``--start_over``; resuming needs something to resume.
    """
    folder = Path(opt.checkpoints_dir) / opt.name
    flag = f"--checkpoints_dir {opt.checkpoints_dir} with --name {opt.name}"
    if folder.is_dir():  # a save a killed launch left half done is completed or undone first
        check_writable_folder(folder, flag)
        for note in complete_interrupted_saves(folder):
            print(f"{folder}: {note}")
    checkpoints = sorted(p.name for p in folder.glob("*_net_G.pth")) if folder.is_dir() else []
    if opt.continue_train and not checkpoints:
        raise UserError(f"--continue_train: {folder} holds no checkpoint (*_net_G.pth) to resume; check --name and "
                        f"--checkpoints_dir, or start a new run without --continue_train.")
    if checkpoints and not (opt.continue_train or opt.start_over):
        raise UserError(f"{folder} already holds a run ({', '.join(checkpoints[:3])}); resume it with "
                        f"--continue_train, pick another --name, or pass --start_over to overwrite it.")
    check_writable_folder(folder, flag)
    if not folder.is_dir():
        folder.mkdir(parents=True)
        _new_folders.add(folder)
    for leftover in folder.glob(".*.tmp"):
        leftover.unlink()
    if opt.start_over and not opt.continue_train:
        remove_run_files(folder)
    return folder


_new_folders: set[Path] = set()  # run folders this launch created


@contextmanager
def removed_if_start_fails(folder: Path | None):
    """Remove ``folder`` again when the block fails and this launch created it (it holds nothing of value)."""
    try:
        yield
    except BaseException:
        if folder in _new_folders:
            shutil.rmtree(folder, ignore_errors=True)
        raise


def remove_run_files(folder: Path) -> None:
    """Delete what a run wrote (checkpoints, states, logs, pictures), keeping anything else in the folder."""
    for pattern in ("*_net_*.pth", "*_training_state.pth", "iter.txt", "loss_log.txt", "eval_log.txt"):
        for path in folder.glob(pattern):
            path.unlink()
    for sub in ("logs", "web"):
        shutil.rmtree(folder / sub, ignore_errors=True)
