"""GeneratorEMA: an exponential moving average of the generator's weights (``--ema_decay``).

The averaged generator is a copy of G with the same state_dict keys, so its files
(``<which>_net_G_ema.pth``) load into the architecture G is built with. G's batch-norm
statistics do not describe the averaged weights, so they are measured afresh on training
batches before the average is evaluated or saved.
"""
import copy
from typing import Iterable

import torch
import torch.nn as nn

from models.networks.normalization import replace_batch_norms
from util.errors import UserError
from util.training_state import capture_rng_states, restore_rng_states


class GeneratorEMA:
    """``average = decay · average + (1 − decay) · parameter`` after every G step; buffers are copied.

    Args:
        generator (nn.Module): the generator being trained; the average starts as a copy of it.
        decay (float): weight of the old average at each update, in (0, 1).
    """

    def __init__(self, generator: nn.Module, decay: float):
        if not 0 < decay < 1:
            raise UserError(f"--ema_decay {decay} must be between 0 and 1 (e.g. 0.999), or 0 for no average.")
        self.decay = decay
        # rank 0 alone measures the average's statistics: its norms must not wait for other processes
        plain = replace_batch_norms(copy.deepcopy(generator), nn.modules.batchnorm._BatchNorm, nn.BatchNorm2d)
        self.generator = plain.requires_grad_(False).eval()
        self.batch_norm_fresh = False

    @torch.no_grad()
    def update(self, generator: nn.Module) -> None:
        """Fold the generator's current parameters into the average and copy its buffers.

        Args:
            generator (nn.Module): the trained generator, of the averaged architecture.
        """
        for average, parameter in zip(self.generator.parameters(), generator.parameters(), strict=True):
            average.mul_(self.decay).add_(parameter.detach(), alpha=1 - self.decay)
        for own, buffer in zip(self.generator.buffers(), generator.buffers(), strict=True):
            own.copy_(buffer)
        self.batch_norm_fresh = False

    def reset(self, generator: nn.Module) -> None:
        """Restart the average at the generator's current weights (e.g. resuming a run that had none)."""
        self.generator.load_state_dict(generator.state_dict())
        self.batch_norm_fresh = False

    @torch.no_grad()
    def refresh_batch_norm(self, generator_inputs: Iterable[dict]) -> None:
        """Measure the batch-norm running statistics of the averaged weights.

        The statistics are reset and averaged with equal weight (momentum None) over the batches.
        Only the batch-norm layers run in train mode: spectral norm then skips its power
        iteration, so the statistics are measured with exactly the weights that evaluation uses,
        and refreshing twice gives the same result. The global RNG states are left as they were,
        so a training run is not changed by a refresh.

        Args:
            generator_inputs (iterable of dict): keyword arguments of the generator's forward, one
                dict per batch (``Pix2PixModel.generator_inputs(batch)``).
        """
        norms = [m for m in self.generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if not norms:
            return
        rng_states = capture_rng_states()
        momenta = [norm.momentum for norm in norms]
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None
            norm.train()
        try:
            for inputs in generator_inputs:
                self.generator(**inputs)
        finally:
            for norm, momentum in zip(norms, momenta):
                norm.momentum = momentum
                norm.eval()
            restore_rng_states(rng_states)
        self.batch_norm_fresh = True

    def state_dict(self) -> dict:
        return self.generator.state_dict()

