"""Stopping a diverged run (losses or weights no longer finite) before it overwrites a good checkpoint.

The checks run where values reach the host anyway (the loss line of ``--print_freq``) and before
every save, never once per step: a per-step check would stall the device on every iteration.
"""
import math

import torch

from util.errors import UserError


class DivergedError(UserError):
    """Training produced non-finite losses or weights."""


def refuse_nonfinite_losses(losses: dict, counter, last_saved_iteration: int | None) -> None:
    """Stop when a logged loss is NaN or infinite.

    Args:
        losses: loss name → float, as logged.
        counter: the run's ``IterationCounter``.
        last_saved_iteration: iteration of the newest checkpoint on disk, None if none was saved.
    """
    bad = {name: value for name, value in losses.items() if not math.isfinite(value)}
    if bad:
        listed = ", ".join(f"{name} = {value}" for name, value in bad.items())
        raise DivergedError(_message(counter, f"the losses {listed} are not finite", last_saved_iteration))


def refuse_nonfinite_weights(networks: dict, counter, last_saved_iteration: int | None) -> None:
    """Stop before saving when a weight or buffer of any network is NaN or infinite.

    Args:
        networks: label → module (``G``, ``D``, ...).
        counter: the run's ``IterationCounter``.
        last_saved_iteration: iteration of the newest checkpoint on disk, None if none was saved.
    """
    bad = [label for label, network in networks.items() if not _all_finite(network)]
    if bad:
        which = ", ".join(f"net_{label}" for label in bad)
        raise DivergedError(_message(counter, f"the weights of {which} are not finite", last_saved_iteration))


@torch.no_grad()
def _all_finite(network: torch.nn.Module) -> bool:
    tensors = [t for t in (*network.parameters(), *network.buffers()) if t.is_floating_point()]
    return bool(torch.stack([torch.isfinite(t).all() for t in tensors]).all()) if tensors else True


def _message(counter, what: str, last_saved_iteration: int | None) -> str:
    if last_saved_iteration is None:
        kept = "no checkpoint had been saved yet and none was written; start again with a lower --lr"
    else:
        kept = (f"the checkpoints on disk (last saved at iteration {last_saved_iteration}) are left unchanged; "
                f"resume from them with --continue_train and a lower --lr")
    return f"training diverged at epoch {counter.epoch}, iteration {counter.iterations}: {what}; {kept}, or check the data."
