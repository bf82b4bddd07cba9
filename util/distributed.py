"""Several processes: DistributedDataParallel started by torchrun (any number of machines) or by
``--gpu_ids 0,1,...`` on one machine. Rank 0 alone logs, saves and evaluates.

Every collective of the project goes through this file, for two reasons: NCCL serves only CUDA
tensors, so each tensor is moved to the device the process group serves (``group_device``), and
a collective that fails (a process died, or waited past ``--dist_timeout``) becomes one sentence
instead of a backend traceback.
"""
import ctypes
import os
import re
import signal
import sys
from contextlib import contextmanager
from datetime import timedelta

import torch
import torch.distributed as dist

from util.errors import UserError


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def is_main(opt) -> bool:
    return getattr(opt, "rank", 0) == 0


def _world_size(opt) -> int:
    return getattr(opt, "world_size", 1)


def init_distributed(opt) -> None:
    """Join the process group torchrun set up; sets ``opt.rank``, ``opt.world_size`` and the device.

    Single-process runs get rank 0 and world size 1 and nothing else changes.
    """
    opt.rank, opt.world_size = 0, 1
    if not launched_by_torchrun():
        return
    die_with_launcher()
    opt.rank, opt.world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if opt.batchSize % opt.world_size:
        lower, upper = (opt.batchSize // opt.world_size) * opt.world_size, -(-opt.batchSize // opt.world_size) * opt.world_size
        suggestion = f"{lower} or {upper}" if lower else f"{upper}"
        raise UserError(f"--batchSize {opt.batchSize} (the global batch) cannot be shared equally by "
                        f"{opt.world_size} processes; pass --batchSize {suggestion}, or as many processes as divide it.")
    if opt.gpu_ids:
        gpu = opt.gpu_ids[local_rank] if local_rank < len(opt.gpu_ids) else local_rank
        torch.cuda.set_device(gpu)
        opt.gpu_ids, opt.device = [gpu], f"cuda:{gpu}"
    with _collective(opt, "joining the process group"):
        dist.init_process_group(backend="nccl" if opt.gpu_ids else "gloo", timeout=timedelta(seconds=opt.dist_timeout))


def die_with_launcher() -> None:
    """Have Linux send this worker SIGHUP when its launcher dies, even by SIGKILL: no worker trains on alone.

    The training loop saves and stops on SIGHUP, so the workers of a killed launcher stop
    together at the next batch.
    """
    if not sys.platform.startswith("linux"):
        return
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGHUP), 0, 0, 0)
    if os.getppid() == 1:  # the launcher died before the request was made
        os.kill(os.getpid(), signal.SIGHUP)


def group_device() -> torch.device:
    """The device whose tensors the default process group serves: this process's GPU under NCCL, else the CPU."""
    if dist.get_backend() == dist.Backend.NCCL:
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_reduce(tensor: torch.Tensor, op=dist.ReduceOp.SUM) -> torch.Tensor:
    """The reduction of ``tensor`` over all processes, on ``tensor``'s device (``tensor`` itself is not changed)."""
    reduced = tensor.detach().to(group_device(), copy=True)
    dist.all_reduce(reduced, op=op)
    return reduced.to(tensor.device)


def any_process(flag: bool, opt) -> bool:
    """True on every process when it is True on any (so all stop at the same batch)."""
    if _world_size(opt) == 1:
        return flag
    with _collective(opt, "the stop check after a batch"):
        return bool(all_reduce(torch.tensor([float(flag)]), op=dist.ReduceOp.MAX).item())


def mean_over_processes(values: dict, opt) -> dict:
    """``{name: float}``: each scalar tensor averaged over the processes (the global batch's mean).

    Every process must call this at the same point; the processes hold equal shares of the batch.
    """
    if not values:
        return {}
    stacked = torch.stack([value.detach().float().reshape(()) for value in values.values()])
    if _world_size(opt) > 1:
        with _collective(opt, "averaging the losses over processes"):
            stacked = all_reduce(stacked) / _world_size(opt)
    return dict(zip(values, stacked.tolist()))


def gather_objects(obj, opt) -> list:
    """``[obj of rank 0, obj of rank 1, ...]`` on every process."""
    if _world_size(opt) == 1:
        return [obj]
    gathered = [None] * opt.world_size
    with _collective(opt, "gathering the processes' states"):
        dist.all_gather_object(gathered, obj)
    return gathered


def run_on_main(opt, what: str, function):
    """Run ``function()`` on rank 0 alone while the other processes wait for it (at most ``--dist_timeout``).

    A UserError raised on rank 0 stops every process: rank 0 reports it, the others exit quietly.
    Whatever ``function`` does must contain no collective. Returns its result on rank 0, None elsewhere.

    Args:
        what: a few words naming the work, for the timeout message.
    """
    result, failure = None, None
    if is_main(opt):
        try:
            result = function()
        except UserError as error:
            failure = error
    if _world_size(opt) > 1:
        outcome = [None if failure is None else str(failure)]
        with _collective(opt, f"waiting for process 0 to finish {what}"):
            dist.broadcast_object_list(outcome, src=0)
        if outcome[0] is not None and not is_main(opt):
            raise OtherProcessFailed()
    if failure is not None:
        raise failure
    return result


class OtherProcessFailed(UserError):
    """Another process stopped the run with an error it reported itself; this one exits without a message."""


@contextmanager
def _collective(opt, what: str):
    """Turn a failed collective into one sentence: a timeout names ``--dist_timeout``, else a lost process."""
    try:
        yield
    except RuntimeError as error:
        text = str(error).strip()
        if not (isinstance(error, dist.DistError) or any(word in text for word in BACKEND_WORDS)):
            raise
        rank, detail = getattr(opt, "rank", 0), _first_sentence(text) or type(error).__name__
        if "timed out" in text.lower() or "timeout" in text.lower():
            raise UserError(f"process {rank} waited more than --dist_timeout {opt.dist_timeout} s for the other "
                            f"processes ({what}); raise --dist_timeout if that work is slow, else check that every "
                            f"process started ({detail}).") from None
        raise UserError(f"process {rank} lost the other processes ({what}): one of them stopped or died "
                        f"({detail}); every process stops, resume with --continue_train.") from None


def _first_sentence(text: str) -> str:
    """A backend message without its source-file prefix (``[.../pair.cc:545] Read error ...``), cut at the first period."""
    line = re.sub(r"^\[[^\]]*\]\s*", "", text.splitlines()[0] if text else "")
    return re.split(r"(?<=[^\d])\.\s", line, maxsplit=1)[0].rstrip(".")[:200]


# what the messages of failed gloo and NCCL collectives contain (gloo's are plain RuntimeErrors)
BACKEND_WORDS = ("gloo", "Gloo", "NCCL", "c10d", "Connection closed", "Connection reset", "Broken pipe")


@contextmanager
def collectives_failing_as_user_errors(opt):
    """Around the training loop: collectives run by DistributedDataParallel fail as one sentence too."""
    if _world_size(opt) == 1:
        yield
        return
    with _collective(opt, "a training step"):
        yield


def shutdown(opt) -> None:
    if _world_size(opt) > 1 and dist.is_initialized():
        dist.destroy_process_group()


def launch_workers(count: int, script_and_args: list[str]) -> int:
    """Start ``count`` processes of a script on this machine through PyTorch's elastic launcher (torchrun).

    As ``torchrun --standalone --nproc_per_node count``: OMP_NUM_THREADS is set as torchrun sets
    it, one process's death stops the others at once, and Ctrl-C or SIGTERM reach every process
    (they save and stop). Workers also stop when this launcher is killed (``die_with_launcher``).
    Returns the exit code: 0, or 1 after printing which process failed.
    """
    from torch.distributed import run as torchrun
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    args = torchrun.parse_args(["--standalone", f"--nproc_per_node={count}", *script_and_args])
    try:
        torchrun.run(args)
    except ChildFailedError as error:
        rank, failure = error.get_first_failure()
        how = (f"was killed by {signal.Signals(-failure.exitcode).name}" if failure.exitcode < 0
               else f"exited with code {failure.exitcode}")
        print(f"error: process {rank} of {count} {how}, so every process was stopped; resume with --continue_train.",
              file=sys.stderr)
        return 1
    except SignalException as stop:
        print(f"the launcher got {stop.sigval.name}: every process was asked to save and stop.", file=sys.stderr)
    return 0
