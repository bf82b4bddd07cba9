"""``python script.py args`` in a new process forked from an interpreter that has already imported torch.

A fresh interpreter spends about 3 s importing torch; most commands the tests run then fail or
finish within a second. Here a server process (multiprocessing's forkserver) imports torch once
and runs nothing, and every command is a child forked from it: a new process with its own
working directory, environment, umask, standard output and error, that runs the script as
``__main__`` and ends with the script's exit code, as the interpreter would.

The server starts when the tests begin, before any test changes the environment: what
torch reads from it at import (OpenMP's thread count) is then what a new interpreter would read;
a child given ``OMP_NUM_THREADS`` sets torch's thread count from it. Tests that check which
modules a command imports still start a real interpreter.
"""
import atexit
import multiprocessing
import multiprocessing.forkserver
import os
import runpy
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

PRELOADED = ["torch"]
_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOADED)


def start() -> None:
    """Start the server now, with the environment as it is (``conftest.py`` calls this when tests begin)."""
    multiprocessing.forkserver.ensure_running()


def run(argv: list, cwd, env: dict, umask: int | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``argv`` (a script path, then its arguments) like ``subprocess.run([python, *argv], capture_output=True,
    text=True)``; raises ``subprocess.TimeoutExpired`` after ``timeout`` seconds."""
    argv = [str(arg) for arg in argv]
    with tempfile.TemporaryDirectory() as folder:
        out, err = Path(folder) / "stdout", Path(folder) / "stderr"
        process = _context.Process(target=_run_script, args=(argv, str(cwd), env, umask, str(out), str(err)))
        process.start()
        process.join(timeout)
        if process.exitcode is None:
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired([sys.executable, *argv], timeout)
        return subprocess.CompletedProcess([sys.executable, *argv], process.exitcode, _text(out), _text(err))


def _text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _run_script(argv, cwd, env, umask, out, err):
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    if "OMP_NUM_THREADS" in env:
        import torch
        torch.set_num_threads(int(env["OMP_NUM_THREADS"]))
    if umask is not None:
        os.umask(umask)
    for descriptor, path in ((1, out), (2, err)):
        opened = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(opened, descriptor)
        os.close(opened)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)
    sys.argv = list(argv)
    sys.path[0] = str(Path(argv[0]).resolve().parent)
    try:
        runpy.run_path(argv[0], run_name="__main__")
        code = 0
    except SystemExit as exit_request:
        code = _exit_code(exit_request.code)
    except BaseException:
        traceback.print_exc()
        code = 1
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _exit_code(code) -> int:
    """What the interpreter exits with for ``sys.exit(code)``."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
