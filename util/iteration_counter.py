"""Where a run stands: epoch, images seen, iterations; when to print, display and save (docs/reference.md §5.3).

Frequencies count images, as in the reference (``--print_freq 100`` prints every 100 images).
"""
from pathlib import Path

import numpy as np


class IterationCounter:
    """Args:
        opt: options; reads ``niter``, ``niter_decay``, ``batchSize`` and the ``*_freq`` flags.
    """

    def __init__(self, opt):
        self.opt = opt
        self.total_epochs = opt.niter + opt.niter_decay
        self.epoch = 1            # the epoch being trained (or to train next)
        self.epoch_images = 0     # images of ``epoch`` already trained on
        self.total_images = 0     # images trained on since the start of the run
        self.iterations = 0       # optimisation steps since the start of the run (TensorBoard's x axis)
        self.batch_index = 0      # index of the next batch inside the epoch

    def record_batch(self, batch_size: int) -> None:
        self.epoch_images += batch_size
        self.total_images += batch_size
        self.iterations += 1
        self.batch_index += 1

    def end_epoch(self) -> None:
        self.epoch += 1
        self.epoch_images = 0
        self.batch_index = 0

    def _due(self, frequency: int, batch_size: int) -> bool:
        return self.total_images % frequency < batch_size

    def needs_printing(self, batch_size: int) -> bool:
        return self._due(self.opt.print_freq, batch_size)

    def needs_displaying(self, batch_size: int) -> bool:
        return self._due(self.opt.display_freq, batch_size)

    def needs_saving(self, batch_size: int) -> bool:
        return self._due(self.opt.save_latest_freq, batch_size)

    def needs_evaluation(self, epoch: int) -> bool:
        """FID (``--train_eval``) every ``--eval_epoch_freq`` epochs and at the final epoch."""
        return self.opt.train_eval and (epoch % self.opt.eval_epoch_freq == 0 or epoch == self.total_epochs)

    def is_finished(self) -> bool:
        return self.epoch > self.total_epochs

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "epoch_images": self.epoch_images, "total_images": self.total_images,
                "iterations": self.iterations, "batch_index": self.batch_index}

    def load_state_dict(self, state: dict) -> None:
        for key, value in state.items():
            setattr(self, key, int(value))


def read_iter_txt(folder: Path) -> tuple[int, int] | None:
    """(epoch, images into it) from ``iter.txt``, or None when there is no readable record."""
    path = Path(folder) / "iter.txt"
    try:
        values = np.loadtxt(path, delimiter=",", dtype=int).reshape(-1)
        return int(values[0]), int(values[1])
    except (OSError, ValueError, IndexError):
        return None
