"""A batch sampler whose order is a pure function of (seed, epoch): resumable at any sample, shardable.

Each yielded batch is a list of ``(index, sample_seed)`` pairs; the dataset draws a sample's crop and
flip from its ``sample_seed``. A run stopped after n samples of epoch e therefore resumes at sample
n with the same data and augmentations as an unbroken run, without storing any sampler state
beyond (epoch, n); a new ``--batchSize`` on resume simply regroups the remaining samples. Under DistributedDataParallel each process takes its slice of every global
batch, so N processes see exactly the samples one process would with the same ``--batchSize``.
"""
import numpy as np
import torch
from torch.utils.data import Sampler


class ResumableBatchSampler(Sampler):
    """Args:
        dataset_size: number of samples.
        batch_size: the global batch size (``--batchSize``).
        shuffle: reshuffle every epoch (else serial order).
        drop_last: drop a last incomplete global batch.
        seed: the run's seed.
        rank, world_size: this process's slice of each global batch.
    """

    def __init__(self, dataset_size: int, batch_size: int, shuffle: bool, drop_last: bool, seed: int = 0,
                 rank: int = 0, world_size: int = 1):
        super().__init__()
        self.dataset_size, self.batch_size = dataset_size, batch_size
        self.shuffle, self.drop_last, self.seed = shuffle, drop_last, seed
        self.rank, self.world_size = rank, world_size
        self.epoch, self.start_sample = 0, 0

    def set_epoch(self, epoch: int, start_sample: int = 0) -> None:
        """Choose the epoch's order and the first sample to yield (to resume inside an epoch)."""
        self.epoch, self.start_sample = epoch, start_sample

    def batches_per_epoch(self) -> int:
        """Batches of a whole epoch."""
        return self._batch_count(self.dataset_size)

    def _batch_count(self, samples: int) -> int:
        full, rest = divmod(max(0, samples), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __len__(self) -> int:
        return self._batch_count(self.dataset_size - self.start_sample)

    def __iter__(self):
        order = self._order()
        per_rank = self.batch_size // self.world_size
        for batch in range(len(self)):
            first = self.start_sample + batch * self.batch_size
            positions = np.arange(first, min(first + self.batch_size, self.dataset_size))
            mine = positions[self.rank * per_rank:(self.rank + 1) * per_rank] if self.world_size > 1 else positions
            yield [(int(order[p]), self._sample_seed(int(p))) for p in mine]

    def _order(self) -> np.ndarray:
        if not self.shuffle:
            return np.arange(self.dataset_size)
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return torch.randperm(self.dataset_size, generator=generator).numpy()

    def _sample_seed(self, position: int) -> int:
        return int(np.random.SeedSequence([self.seed, self.epoch, position]).generate_state(1)[0])
