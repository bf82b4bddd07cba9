"""On the CPU, freed memory stays with the process for reuse instead of going back to the system."""
import subprocess
import sys

import pytest

import options.base_options as base_options
from conftest import REPO
from options.test_options import TestOptions

# allocate, touch and free 256 MiB through malloc, then print how much of it the process still holds
FREE_AND_MEASURE = """
import ctypes, sys
sys.path.insert(0, {repo!r})
from util.cpu_memory import reuse_freed_memory
if {reuse}:
    assert reuse_freed_memory()
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = (ctypes.c_void_p,)

def resident():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2 ** 20

before = resident()
block = libc.malloc(256 * 2 ** 20)
ctypes.memset(block, 1, 256 * 2 ** 20)
libc.free(block)
print(resident() - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc and /proc are Linux's")
@pytest.mark.parametrize("reuse", [True, False])
def test_freed_blocks_stay_resident_only_when_reused(reuse):
    script = FREE_AND_MEASURE.format(repo=str(REPO), reuse=reuse)
    held_mib = float(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout)
    if reuse:
        assert held_mib > 250
    else:
        assert held_mib < 10


def test_options_turn_reuse_on_for_a_cpu_run(monkeypatch):
    calls = []
    monkeypatch.setattr(base_options, "reuse_freed_memory", lambda: calls.append(1))
    TestOptions().parse(["--dataset_mode", "custom", "--label_dir", "x", "--image_dir", "y", "--gpu_ids", "-1"])
    assert calls == [1]
