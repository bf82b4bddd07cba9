"""Run one of the project's scripts with a simulated fault of the machine (tests only).

    python tests/tools/with_fault.py full-disk BYTES FOLDER  SCRIPT ARGS...
    python tests/tools/with_fault.py snapshot-save INDEX OUT  SCRIPT ARGS...

full-disk: writes through ``os.write`` into files under FOLDER fail with ENOSPC once BYTES have
been written there, as on a nearly full disk.
snapshot-save: during the INDEX-th checkpoint-set save (counting from 1), the run folder is
copied to ``OUT/<n>/`` before the first and after every rename, i.e. every state a kill
(SIGKILL, power loss) between two steps of the save would leave on disk; the run then goes on.
"""
import errno
import os
import runpy
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def simulate_full_disk(budget: int, folder: Path) -> None:
    real_write, used = os.write, [0]

    def write(fd, data):
        try:
            target = Path(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            target = None
        if target is not None and folder in target.parents:
            if used[0] + len(data) > budget:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            used[0] += len(data)
        return real_write(fd, data)

    os.write = write


def snapshot_save(index: int, out: Path) -> None:
    import models.trainer

    real_save, real_replace = models.trainer.save_checkpoint_set, os.replace
    saves, taken = [0], [0]

    def take(folder: Path) -> None:
        taken[0] += 1
        shutil.copytree(folder, out / str(taken[0]))

    def save(folder, which, files):
        saves[0] += 1
        if saves[0] != index:
            return real_save(folder, which, files)

        def replace(source, target):
            real_replace(source, target)
            take(Path(folder))

        os.replace = replace  # the renames of the staged files, of COMMIT and of the final moves
        take(Path(folder))
        try:
            return real_save(folder, which, files)
        finally:
            os.replace = real_replace

    models.trainer.save_checkpoint_set = save


def main() -> None:
    mode, value, folder, script, *args = sys.argv[1:]
    sys.path.insert(0, str(REPO))
    if mode == "full-disk":
        simulate_full_disk(int(value), Path(folder).resolve())
    else:
        snapshot_save(int(value), Path(folder))
    sys.argv = [script, *args]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
