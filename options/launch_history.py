"""What a launch of a run changes against the options saved by the launch before, and the run's history of them.

``--continue_train`` takes the saved options; flags given on the command line (or in ``--config``)
override them. Each override is printed as one line and every launch is appended to
``options_history.txt`` in the run folder, so a curve that bends at iteration 224 can be traced to
the ``--batchSize 2 -> 8`` of that launch.
"""
import time
from pathlib import Path

HISTORY_FILE = "options_history.txt"


def changed_options(saved: dict, current: dict) -> list[tuple[str, object, object]]:
    """(name, saved value, new value) of every saved option this launch sets otherwise, sorted by name.

    Args:
        saved: the options restored from the run folder (machine settings such as ``--gpu_ids`` are not
            restored, so they are no change).
        current: the options of this launch, before derived fields are added.
    """
    return [(name, saved[name], current[name]) for name in sorted(saved)
            if name in current and current[name] != saved[name]]


def change_lines(changes: list[tuple[str, object, object]]) -> list[str]:
    """``--batchSize: 2 -> 8``, one line per change."""
    return [f"--{name}: {old} -> {new}" for name, old, new in changes]


def append_launch(folder: Path, position: str, changes: list[tuple[str, object, object]] | None) -> None:
    """Add one line for this launch to the run's ``options_history.txt``.

    Args:
        folder: the run folder.
        position: where the launch starts, e.g. "resume at epoch 2, image 0 (iteration 8)".
        changes: what ``changed_options`` found; None for a new run.
    """
    if changes is None:
        described = "new run, options in options.yaml"
    else:
        described = "; ".join(change_lines(changes)) or "no option changed"
    with open(Path(folder) / HISTORY_FILE, "a") as history:
        history.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')}  {position}: {described}\n")
