"""Run a reference code base on today's torch, for timing it beside ours: a checkout of tzt101/CLADE
(itself a fork of NVlabs/SPADE; CLADE and SPADE) or of ZPdesu/SEAN (SEAN). ``scripts/benchmark.py
--reference DIR`` calls this in a subprocess.

    python scripts/reference_code.py DIR train <its train.py flags>      # its own train.py
    python scripts/reference_code.py DIR step --json OUT --labels MAPS.npy <its flags>   # one step, timed

The reference runs as it is, with the patches its code base lists in ``CODE_BASES`` applied in
memory at start-up (its files are not changed); none of them touches a timed path. It needs two
packages of its own that we do not: ``pip install dill dominate``.
"""
import argparse
import importlib.util
import inspect
import json
import os
import resource
import runpy
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

NEEDED_MODULES = ("dill", "dominate")
REFERENCE_FILES = ("train.py", "models/pix2pix_model.py", "trainers/pix2pix_trainer.py", "data/custom_dataset.py",
                   "models/networks/normalization.py")


@dataclass(frozen=True)
class CodeBase:
    url: str
    norm_modes: tuple  # the --norm_mode values of ours that this code base is the reference for
    marker: str  # a class only its models/networks/normalization.py defines
    patches: tuple  # what is changed in memory, and why


CODE_BASES = {
    "CLADE": CodeBase(
        "github.com/tzt101/CLADE", ("clade", "spade"), "class ClassAffine(",
        ("data/custom_dataset.py: CustomDataset.get_paths returns three lists (labels, images, instances) where "
         "Pix2pixDataset.initialize unpacks four; the patch appends the fourth, an empty list of positional-map "
         "paths (CLADE-ICPE's, unused without --add_dist).",)),
    "SEAN": CodeBase(
        "github.com/ZPdesu/SEAN", ("sean",), "class ACE(",
        ("models/pix2pix_model.py: create_optimizers gives Adam betas (0, 0.9), an int and a float, which "
         "today's torch.optim.Adam refuses; the patch writes 0.0.",
         "models/networks/normalization.py: ACE.forward moves its noise with .cuda(), which fails without a "
         "GPU; the patch moves it to the input's device (the same call on a GPU).")),
}


def identify(folder: str) -> str:
    """The name of the code base checked out in ``folder``, or SystemExit with one sentence naming what is missing."""
    path = Path(folder).resolve()
    urls = " or ".join(base.url for base in CODE_BASES.values())
    missing = [name for name in REFERENCE_FILES if not (path / name).is_file()]
    if missing:
        sys.exit(f"error: --reference {folder} is not a checkout of a reference code base (no {missing[0]}); "
                 f"clone {urls} and pass its folder.")
    norms = (path / "models/networks/normalization.py").read_text()
    for name, base in CODE_BASES.items():
        if base.marker in norms:
            return name
    sys.exit(f"error: --reference {folder} is neither CLADE's nor SEAN's code (its normalization.py defines "
             f"neither ClassAffine nor ACE); clone {urls}.")


def check_modules() -> None:
    absent = [name for name in NEEDED_MODULES if importlib.util.find_spec(name) is None]
    if absent:
        sys.exit(f"error: the reference code imports {', '.join(absent)}, which this environment lacks; "
                 f"run: pip install {' '.join(absent)}")


def enter(path: Path, code_base: str) -> None:
    """Import the reference's packages (``options``, ``models``, ``data``, ...) from its checkout, patched."""
    sys.path.insert(0, str(path))
    os.chdir(path)
    check_modules()
    if code_base == "CLADE":
        import data.custom_dataset as custom

        paths_of = custom.CustomDataset.get_paths
        custom.CustomDataset.get_paths = lambda self, opt: (*paths_of(self, opt), [])
    else:
        import models.networks.normalization as normalization
        import models.pix2pix_model as model

        rewrite(model.Pix2PixModel, "create_optimizers", "beta1, beta2 = 0, 0.9", "beta1, beta2 = 0.0, 0.9")
        rewrite(normalization.ACE, "forward", ".cuda()", ".to(x.device)")


def rewrite(cls, method: str, old: str, new: str) -> None:
    """Replace ``cls.method`` by its own source with ``old`` written as ``new`` (which must occur in it)."""
    function = getattr(cls, method)
    source = textwrap.dedent(inspect.getsource(function))
    if old not in source:
        sys.exit(f"error: {inspect.getsourcefile(function)} is not the version this runner patches "
                 f"({cls.__name__}.{method} has no '{old}'); check out the reference's last commit.")
    namespace = {}
    exec(compile(source.replace(old, new), inspect.getsourcefile(function), "exec"), function.__globals__, namespace)
    setattr(cls, method, namespace[method])


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

    on_gpu = torch.cuda.is_available() and bool(opt.gpu_ids)
    finish = torch.cuda.synchronize if on_gpu else lambda: None
    figures = {"training": repeated_seconds(step, finish, iterations, warmup, repeats)}
    trainer.pix2pix_model.eval()
    figures["inference"] = repeated_seconds(inference, finish, iterations, warmup, repeats)
    figures["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
    if on_gpu:
        figures["peak_cuda_gib"] = torch.cuda.max_memory_allocated() / 2 ** 30
    return figures


def repeated_seconds(work, finish, iterations: int, warmup: int, repeats: int) -> list[float]:
    """Seconds per ``work()`` for each repeat, after warm-up; ``finish()`` waits for queued GPU work."""
    import time

    for _ in range(warmup):
        work()
    finish()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(iterations):
            work()
        finish()
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
    code_base = identify(args.reference)
    path, output, labels = (Path(name).resolve() for name in (args.reference, args.json, args.labels))
    enter(path, code_base)
    if args.work == "train":
        run_train(flags)
        return
    figures = time_step(flags, labels, args.iterations, args.warmup, args.repeats)
    output.write_text(json.dumps(figures))


if __name__ == "__main__":
    main()
