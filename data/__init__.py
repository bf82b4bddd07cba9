"""Dataset modes and the dataloader factory (docs/reference.md §8.1)."""
import util  # noqa: F401  (checks the Python version first)
import importlib

import torch
from torch.utils.data import DataLoader

from data.sampler import ResumableBatchSampler
from util.errors import UserError

DATASET_MODES = ("custom", "celebamaskhq", "coco", "ade20k", "ade20koutdoor", "cityscapes")
# modes that live in another mode's file: a variant with the same layout
MODULE_OF_MODE = {"ade20koutdoor": "ade20k"}


def dataset_class(mode: str):
    """``--dataset_mode foo`` → ``data/foo_dataset.py`` → the class named ``FooDataset`` (case and ``_`` ignored)."""
    if mode not in DATASET_MODES:
        raise UserError(f"--dataset_mode '{mode}' is not known; use one of: {', '.join(DATASET_MODES)}.")
    module = importlib.import_module(f"data.{MODULE_OF_MODE.get(mode, mode)}_dataset")
    wanted = mode.replace("_", "").lower() + "dataset"
    return next(cls for name, cls in vars(module).items() if name.lower() == wanted)


def modify_commandline_options(parser, is_train: bool, current_options):
    return dataset_class(current_options().dataset_mode).modify_commandline_options(parser, is_train)


def create_dataset(opt):
    return dataset_class(opt.dataset_mode)(opt)


def create_dataloader(opt, dataset=None, rank: int = 0, world_size: int = 1) -> DataLoader:
    """Batches in the order of a ``ResumableBatchSampler`` (shuffled unless ``--serial_batches``).

    Args:
        opt: options; reads ``batchSize``, ``serial_batches``, ``isTrain``, ``nThreads``, ``seed``.
        dataset: an already built dataset (else built from ``opt``).
        rank, world_size: this process's place under DistributedDataParallel.
    """
    dataset = dataset if dataset is not None else create_dataset(opt)
    sampler = ResumableBatchSampler(len(dataset), opt.batchSize, shuffle=not opt.serial_batches,
                                    drop_last=opt.isTrain, seed=opt.seed, rank=rank, world_size=world_size)
    if sampler.batches_per_epoch() == 0:
        raise UserError(f"the dataset has {len(dataset)} samples, fewer than one batch of --batchSize {opt.batchSize}; "
                        f"lower --batchSize or add data.")
    workers = opt.nThreads
    # a generator of its own: creating an epoch's iterator must not draw from the global RNG (exact resume)
    return DataLoader(dataset, batch_sampler=sampler, num_workers=workers, generator=torch.Generator(),
                      pin_memory=torch.cuda.is_available() and bool(opt.gpu_ids),
                      persistent_workers=workers > 0)
