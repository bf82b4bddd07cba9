"""Freed CPU memory kept for reuse: big activations then cost no page faults at every step.

glibc's malloc serves each block above 32 MiB with a fresh ``mmap`` and unmaps it when freed, and
returns freed memory at the top of its heap to the system. A CPU forward pass allocates and frees
the same activations of tens of MiB each step, so the kernel maps and zeroes them again every time:
at 256² that took longer than some of the layers' arithmetic (docs/speed.md). Serving every block
from the heap and never trimming it lets malloc hand the same pages back.
"""
import ctypes

M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4


def reuse_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory for the process; False where the C library has no ``mallopt``."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, -1))
