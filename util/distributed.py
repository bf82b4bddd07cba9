"""Several processes: DistributedDataParallel launched by torchrun (any number of machines), or by
``--gpu_ids 0,1,...`` on one machine. Rank 0 alone logs, saves and evaluates.
"""
import os
import signal
import socket
import subprocess
import sys

import torch
import torch.distributed as dist

from util.errors import UserError


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_distributed(opt) -> None:
    """Join the process group torchrun set up; sets ``opt.rank``, ``opt.world_size`` and the device.

    Single-process runs get rank 0 and world size 1 and nothing else changes.
    """
    opt.rank, opt.world_size = 0, 1
    if not launched_by_torchrun():
        return
    opt.rank, opt.world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if opt.batchSize % opt.world_size:
        raise UserError(f"--batchSize {opt.batchSize} must be divisible by the {opt.world_size} processes "
                        f"(each takes an equal share of the global batch).")
    if opt.gpu_ids:
        gpu = opt.gpu_ids[local_rank] if local_rank < len(opt.gpu_ids) else local_rank
        torch.cuda.set_device(gpu)
        opt.gpu_ids, opt.device = [gpu], f"cuda:{gpu}"
    dist.init_process_group(backend="nccl" if opt.gpu_ids else "gloo")


def is_main(opt) -> bool:
    return getattr(opt, "rank", 0) == 0


def any_process(flag: bool, opt) -> bool:
    """True on every process when it is True on any (so all stop at the same batch)."""
    if getattr(opt, "world_size", 1) == 1:
        return flag
    value = torch.tensor([1.0 if flag else 0.0])
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def gather_objects(obj, opt) -> list:
    """``[obj of rank 0, obj of rank 1, ...]`` on every process."""
    if getattr(opt, "world_size", 1) == 1:
        return [obj]
    gathered = [None] * opt.world_size
    dist.all_gather_object(gathered, obj)
    return gathered


def barrier(opt) -> None:
    if getattr(opt, "world_size", 1) > 1:
        dist.barrier()


def shutdown(opt) -> None:
    if getattr(opt, "world_size", 1) > 1 and dist.is_initialized():
        dist.destroy_process_group()


def launch_local_processes(gpu_ids: list[int], argv: list[str]) -> int:
    """Start one training process per GPU of ``--gpu_ids`` on this machine, as torchrun would; wait for all.

    Returns the first non-zero exit code of a child, else 0.
    """
    port = _free_port()
    children = []
    for rank, gpu in enumerate(gpu_ids):
        env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(len(gpu_ids)),
                   LOCAL_WORLD_SIZE=str(len(gpu_ids)), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        children.append(subprocess.Popen([sys.executable, *argv], env=env))
    # SIGTERM is passed on so every process saves and stops; Ctrl-C reaches the children from the terminal
    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, lambda signum, frame: [c.send_signal(signum)
                                                                                   for c in children]),
                signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN)}
    try:
        codes = [child.wait() for child in children]
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return next((code for code in codes if code), 0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
