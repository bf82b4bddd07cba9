"""A batch sampler whose order is a pure function of (seed, epoch): resumable at any batch, shardable.

Each yielded batch is a list of ``(index, sample_seed)`` pairs; the dataset draws a sample's crop and
flip from its ``sample_seed``. A run stopped after batch k of epoch e therefore resumes at batch
k + 1 with the same data and augmentations as an unbroken run, without storing any sampler state
beyond (epoch, batch). Under DistributedDataParallel each process takes its slice of every global
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
        self.epoch, self.start_batch = 0, 0

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        """Choose the epoch's order and the first batch to yield (to resume inside an epoch)."""
        self.epoch, self.start_batch = epoch, start_batch

    def batches_per_epoch(self) -> int:
        full, rest = divmod(self.dataset_size, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __len__(self) -> int:
        return max(0, self.batches_per_epoch() - self.start_batch)

    def __iter__(self):
        order = self._order()
        per_rank = self.batch_size // self.world_size
        for batch in range(self.start_batch, self.batches_per_epoch()):
            positions = np.arange(batch * self.batch_size, min((batch + 1) * self.batch_size, self.dataset_size))
            mine = positions[self.rank * per_rank:(self.rank + 1) * per_rank] if self.world_size > 1 else positions
            yield [(int(order[p]), self._sample_seed(int(p))) for p in mine]

    def _order(self) -> np.ndarray:
        if not self.shuffle:
            return np.arange(self.dataset_size)
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return torch.randperm(self.dataset_size, generator=generator).numpy()

    def _sample_seed(self, position: int) -> int:
        return int(np.random.SeedSequence([self.seed, self.epoch, position]).generate_state(1)[0])
