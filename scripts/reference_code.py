"""Run the reference code base (a checkout of tzt101/CLADE, itself a fork of NVlabs/SPADE) on today's
torch, for timing it beside ours; ``scripts/benchmark.py --reference DIR`` calls this in a subprocess.

    python scripts/reference_code.py DIR train <its train.py flags>      # its own train.py
    python scripts/reference_code.py DIR step --json OUT --labels MAPS.npy <its flags>   # one step, timed

The reference runs as it is, with the patches of ``PATCHES`` applied in memory at start-up (its
files are not changed); none of them touches a timed path. It needs two packages of its own that
we do not: ``pip install dill dominate``.
"""
import argparse
import importlib.util
import json
import os
import resource
import runpy
import sys
from pathlib import Path

PATCHES = [
    "data/custom_dataset.py: CustomDataset.get_paths returns three lists (labels, images, instances) where "
    "Pix2pixDataset.initialize unpacks four; the patch appends the fourth, an empty list of positional-map "
    "paths (CLADE-ICPE's, unused without --add_dist).",
]
NEEDED_MODULES = ("dill", "dominate")
REFERENCE_FILES = ("train.py", "models/pix2pix_model.py", "trainers/pix2pix_trainer.py", "data/custom_dataset.py")


def check_reference(folder: str) -> Path:
    """The checkout's path, or SystemExit with one sentence naming what is missing."""
    path = Path(folder).resolve()
    missing = [name for name in REFERENCE_FILES if not (path / name).is_file()]
    if missing:
        sys.exit(f"error: --reference {folder} is not a checkout of the reference code (no {missing[0]}); "
                 f"clone github.com/tzt101/CLADE and pass its folder.")
    absent = [name for name in NEEDED_MODULES if importlib.util.find_spec(name) is None]
    if absent:
        sys.exit(f"error: the reference code imports {', '.join(absent)}, which this environment lacks; "
                 f"run: pip install {' '.join(absent)}")
    return path


def enter(path: Path) -> None:
    """Import the reference's packages (``options``, ``models``, ``data``, ...) from its checkout, patched."""
    sys.path.insert(0, str(path))
    os.chdir(path)
    import data.custom_dataset as custom

    paths_of = custom.CustomDataset.get_paths
    custom.CustomDataset.get_paths = lambda self, opt: (*paths_of(self, opt), [])


def run_train(flags: list[str]) -> None:
    sys.argv = ["train.py", *flags]
    runpy.run_path("train.py", run_name="__main__")


def time_step(flags: list[str], labels: str, iterations: int, warmup: int, repeats: int) -> dict:
    """Seconds per G step + D step, and per inference, on one batch of the configured size.

    Args:
        labels: a .npy file of class-id maps [batch, height, width], the same that ours is timed on.
    """
    import numpy as np
    import torch
    from options.train_options import TrainOptions
    from trainers.pix2pix_trainer import Pix2PixTrainer

    sys.argv = ["train.py", *flags]
    opt = TrainOptions().parse()
    torch.manual_seed(0)
    trainer = Pix2PixTrainer(opt)
    height = round(opt.crop_size / opt.aspect_ratio)
    generator = torch.Generator().manual_seed(0)
    batch = {"label": torch.from_numpy(np.load(labels)).long().unsqueeze(1),
             "image": torch.rand(opt.batchSize, 3, height, opt.crop_size, generator=generator) * 2 - 1,
             "instance": torch.zeros(1), "dist": torch.zeros(1), "path": [""] * opt.batchSize}

    def step():
        trainer.run_generator_one_step(dict(batch))
        trainer.run_discriminator_one_step(dict(batch))

    def inference():
        with torch.no_grad():
            trainer.pix2pix_model(dict(batch), mode="inference")

    figures = {"training": repeated_seconds(step, iterations, warmup, repeats)}
    trainer.pix2pix_model.eval()
    figures["inference"] = repeated_seconds(inference, iterations, warmup, repeats)
    figures["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
    return figures


def repeated_seconds(work, iterations: int, warmup: int, repeats: int) -> list[float]:
    import time

    for _ in range(warmup):
        work()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(iterations):
            work()
        seconds.append((time.perf_counter() - start) / iterations)
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reference", help="the reference checkout")
    parser.add_argument("work", choices=("train", "step"))
    parser.add_argument("--json", default="", help="step: where to write the timings")
    parser.add_argument("--labels", default="", help="step: .npy file of the batch's class-id maps")
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    args, flags = parser.parse_known_args()
    path, output = check_reference(args.reference), Path(args.json).resolve()
    enter(path)
    if args.work == "train":
        run_train(flags)
        return
    figures = time_step(flags, args.labels, args.iterations, args.warmup, args.repeats)
    output.write_text(json.dumps(figures))


if __name__ == "__main__":
    main()
