"""Speed and memory of training and inference for one configuration: the project's yardstick.

    python scripts/benchmark.py --preset celebamaskhq-clade
    python scripts/benchmark.py --preset toy-spade --repeats 5 --json toy.json
    python scripts/benchmark.py --preset celebamaskhq-clade -- --batchSize 4 --use_amp   # any train.py flags

One training iteration is a G step plus a D step (the D step includes a no-grad G forward), on
synthetic batches of the configured size, so data loading is excluded (as in the reference's
figures, ../shared/reference/BASELINE.md). Warm-up iterations are dropped; each repeat times
``--iterations`` iterations; the table gives the median, min and max over repeats.
"""
import argparse
import json
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from models.pix2pix_model import Pix2PixModel  # noqa: E402
from models.trainer import Pix2PixTrainer  # noqa: E402
from options.train_options import TrainOptions  # noqa: E402
from util.errors import exits_on_user_error  # noqa: E402

COMMON = ["--dataset_mode", "custom", "--label_nc", "19", "--no_instance", "--no_vgg_loss"]
PRESETS = {
    "celebamaskhq-clade": [*COMMON, "--norm_mode", "clade", "--load_size", "256", "--crop_size", "256",
                           "--ngf", "64", "--ndf", "64", "--batchSize", "1"],
    "celebamaskhq-spade": [*COMMON, "--norm_mode", "spade", "--load_size", "256", "--crop_size", "256",
                           "--ngf", "64", "--ndf", "64", "--batchSize", "1"],
    "toy-clade": [*COMMON, "--norm_mode", "clade", "--load_size", "64", "--crop_size", "64",
                  "--ngf", "16", "--ndf", "16", "--batchSize", "4"],
    "toy-spade": [*COMMON, "--norm_mode", "spade", "--load_size", "64", "--crop_size", "64",
                  "--ngf", "16", "--ndf", "16", "--batchSize", "4"],
}
# the reference code's medians on the 2-vCPU machines (BASELINE.md), seconds per training iteration
REFERENCE_CPU_SECONDS = {"toy-spade": 0.82, "toy-clade": 0.30, "celebamaskhq-spade": 11.6, "celebamaskhq-clade": 5.9}
REFERENCE_CPU_INFERENCE = {"celebamaskhq-spade": 2.76, "celebamaskhq-clade": 1.29}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="toy-clade", help="named configuration")
    parser.add_argument("--iterations", type=int, default=5, help="timed iterations per repeat")
    parser.add_argument("--warmup", type=int, default=2, help="untimed iterations first")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats (median, min, max over them)")
    parser.add_argument("--skip_inference", action="store_true", help="time training only")
    parser.add_argument("--json", type=str, default="", help="also write the figures to this JSON file")
    parser.add_argument("flags", nargs="*", help="train.py flags after --, added to the preset's")
    return parser.parse_args(argv)


def synthetic_batch(opt) -> dict:
    """A batch of random label maps and images of the configured size (content does not change the cost)."""
    height = round(opt.crop_size / opt.aspect_ratio)
    generator = torch.Generator().manual_seed(0)
    batch = {"label": torch.randint(0, opt.label_nc, (opt.batchSize, 1, height, opt.crop_size),
                                    generator=generator).float(),
             "image": torch.rand(opt.batchSize, 3, height, opt.crop_size, generator=generator) * 2 - 1,
             "instance": 0}
    if not opt.no_instance:
        batch["instance"] = torch.randint(0, 8, (opt.batchSize, 1, height, opt.crop_size), generator=generator)
    if opt.add_dist:
        batch["dist"] = torch.rand(opt.batchSize, 2, height, opt.crop_size, generator=generator) * 2 - 1
    return batch


def synchronize(opt):
    if opt.device.startswith("cuda"):
        torch.cuda.synchronize()


def time_repeats(step, opt, args, label: str) -> list[float]:
    """Seconds per call of ``step`` for each repeat, after warm-up."""
    for _ in range(args.warmup):
        step()
    synchronize(opt)
    seconds = []
    for _ in tqdm(range(args.repeats), desc=label, unit="repeat", leave=False):
        start = time.perf_counter()
        for _ in range(args.iterations):
            step()
        synchronize(opt)
        seconds.append((time.perf_counter() - start) / args.iterations)
    return seconds


def summary(seconds: list[float], batch_size: int) -> dict:
    median = statistics.median(seconds)
    return {"seconds_per_iteration": {"median": median, "min": min(seconds), "max": max(seconds)},
            "iterations_per_second": 1 / median, "images_per_second": batch_size / median}


def run(args) -> dict:
    flags = [*PRESETS[args.preset], *args.flags]
    if "--gpu_ids" not in flags:
        flags += ["--gpu_ids", "0" if torch.cuda.is_available() else "-1"]
    opt = TrainOptions().parse([*flags, "--name", "benchmark", "--checkpoints_dir", "/nonexistent"])
    torch.manual_seed(0)
    model = Pix2PixModel(opt).to(opt.device)
    trainer = Pix2PixTrainer(opt, model)
    batch = synthetic_batch(opt)
    if opt.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()

    def training_step():
        trainer.generator_step(batch)
        trainer.discriminator_step(batch)

    results = {"preset": args.preset, "flags": flags, "device": device_name(opt),
               "torch": torch.__version__, "threads": torch.get_num_threads(),
               "training": summary(time_repeats(training_step, opt, args, "training"), opt.batchSize)}
    if not args.skip_inference:
        model.eval()
        results["inference"] = summary(time_repeats(lambda: model.inference(batch), opt, args, "inference"),
                                       opt.batchSize)
    results["peak_memory_gib"] = {"cpu_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20}
    if opt.device.startswith("cuda"):
        results["peak_memory_gib"]["cuda_max_allocated"] = torch.cuda.max_memory_allocated() / 2 ** 30
    return results


def device_name(opt) -> str:
    if opt.device.startswith("cuda"):
        return torch.cuda.get_device_name(opt.device)
    return f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


def print_table(results: dict) -> None:
    reference = REFERENCE_CPU_SECONDS.get(results["preset"]) if "CPU" in results["device"] else None
    print(f"{results['preset']} on {results['device']} (torch {results['torch']})")
    print(f"{'phase':<10} {'s/it median':>12} {'min':>8} {'max':>8} {'it/s':>8} {'img/s':>8} {'reference s/it':>15}")
    for phase in ("training", "inference"):
        if phase not in results:
            continue
        figures = results[phase]
        seconds = figures["seconds_per_iteration"]
        ref = reference if phase == "training" else REFERENCE_CPU_INFERENCE.get(results["preset"])
        ref_text = f"{ref:.2f}" if ref and "CPU" in results["device"] else "-"
        print(f"{phase:<10} {seconds['median']:>12.4f} {seconds['min']:>8.4f} {seconds['max']:>8.4f} "
              f"{figures['iterations_per_second']:>8.2f} {figures['images_per_second']:>8.2f} {ref_text:>15}")
    memory = ", ".join(f"{k} {v:.2f} GiB" for k, v in results["peak_memory_gib"].items())
    print(f"peak memory: {memory}")


@exits_on_user_error
def main(argv=None):
    args = parse_args(argv)
    results = run(args)
    print_table(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    training = results["training"]
    print(f"benchmark {args.preset}: {training['seconds_per_iteration']['median']:.4f} s per training iteration, "
          f"{training['images_per_second']:.2f} images/s")


if __name__ == "__main__":
    main()
