"""Speed and memory of training and inference for one configuration: the project's yardstick.

    python scripts/benchmark.py --preset celebamaskhq-clade
    python scripts/benchmark.py --preset toy-spade --repeats 5 --json toy.json
    python scripts/benchmark.py --preset celebamaskhq-clade -- --batchSize 4 --use_amp   # any train.py flags
    python scripts/benchmark.py --preset celebamaskhq-spade --peak_tflops 989 -- --batchSize 16 --use_amp --amp_dtype bf16
    python scripts/benchmark.py --preset toy-clade --reference ../CLADE --rounds 3 --whole_run_epochs 20

With ``--reference DIR`` (a checkout of github.com/tzt101/CLADE for the CLADE and SPADE presets,
of github.com/ZPdesu/SEAN for SEAN's; ``scripts/reference_code.py`` says how it is run) the
reference's training step and inference, and with ``--whole_run_epochs`` both whole ``train.py``
runs on 16 demo images, are timed beside ours in fresh processes, alternating which goes first,
and the table gives ours/reference ratios of the medians. The preset's flags go to both; flags
after ``--`` to ours only (e.g. ``-- --use_amp``).

The floating-point operations of one iteration are counted with ``torch.utils.flop_counter``
(convolutions and matrix products); with ``--peak_tflops`` the table adds model FLOP utilisation.
One training iteration is a G step plus a D step (the D step includes a no-grad G forward), on
synthetic batches of the configured size, so data loading is excluded (as in the reference's
figures). Warm-up iterations are dropped; each repeat times
``--iterations`` iterations; the table gives the median, min and max over repeats.
"""
import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from models.pix2pix_model import Pix2PixModel  # noqa: E402
from models.trainer import Pix2PixTrainer  # noqa: E402
from options.train_options import TrainOptions  # noqa: E402
from util.errors import UserError, exits_on_user_error  # noqa: E402
from make_demo_dataset import face_label_maps  # noqa: E402

COMMON = ["--dataset_mode", "custom", "--label_nc", "19", "--no_instance", "--no_vgg_loss"]
PRESETS = {
    "celebamaskhq-clade": [*COMMON, "--norm_mode", "clade", "--load_size", "256", "--crop_size", "256",
                           "--ngf", "64", "--ndf", "64", "--batchSize", "1"],
    "celebamaskhq-spade": [*COMMON, "--norm_mode", "spade", "--load_size", "256", "--crop_size", "256",
                           "--ngf", "64", "--ndf", "64", "--batchSize", "1"],
    "celebamaskhq-sean": [*COMMON, "--norm_mode", "sean", "--load_size", "256", "--crop_size", "256",
                          "--ngf", "64", "--ndf", "64", "--batchSize", "1"],
    "toy-clade": [*COMMON, "--norm_mode", "clade", "--load_size", "64", "--crop_size", "64",
                  "--ngf", "16", "--ndf", "16", "--batchSize", "4"],
    "toy-spade": [*COMMON, "--norm_mode", "spade", "--load_size", "64", "--crop_size", "64",
                  "--ngf", "16", "--ndf", "16", "--batchSize", "4"],
}


def preset_flags(args) -> list[str]:
    """The preset's flags, with ``--batch`` in place of its batch size."""
    flags = list(PRESETS[args.preset])
    if args.batch:
        flags[flags.index("--batchSize") + 1] = str(args.batch)
    return flags


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="toy-clade", help="named configuration")
    parser.add_argument("--iterations", type=int, default=5, help="timed iterations per repeat")
    parser.add_argument("--warmup", type=int, default=2, help="untimed iterations first")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats (median, min, max over them)")
    parser.add_argument("--skip_inference", action="store_true", help="time training only")
    parser.add_argument("--json", type=str, default="", help="also write the figures to this JSON file")
    parser.add_argument("--peak_tflops", type=float, default=0.0,
                        help="the device's peak TFLOP/s at the precision used (e.g. 989 for an H100/H200 in bf16, "
                             "dense): also report model FLOP utilisation")
    parser.add_argument("--reference", type=str, default="",
                        help="a checkout of the reference code: time it beside ours, alternating")
    parser.add_argument("--batch", type=int, default=0, help="batch size for both codes instead of the preset's")
    parser.add_argument("--rounds", type=int, default=3, help="with --reference: alternating rounds")
    parser.add_argument("--whole_run_epochs", type=int, default=0,
                        help="with --reference: also time both whole train.py runs of this many epochs")
    parser.add_argument("flags", nargs="*", help="train.py flags after --, added to the preset's")
    return parser.parse_args(argv)


def synthetic_batch(opt) -> dict:
    """A batch of demo face label maps and random images of the configured size.

    Face maps, not random ids: SPADE's modulation is computed per region away from region edges,
    so its cost depends on the layout (docs/speed.md); the reference's does not.
    """
    height = round(opt.crop_size / opt.aspect_ratio)
    generator = torch.Generator().manual_seed(0)
    labels = torch.from_numpy(face_label_maps(opt.batchSize, height, opt.crop_size).astype(np.int64)) % opt.label_nc
    batch = {"label": labels.unsqueeze(1).float(),
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
    flags = [*preset_flags(args), *args.flags]
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
    add_flop_rate(results["training"], training_step, args.peak_tflops)
    if not args.skip_inference:
        model.eval()
        results["inference"] = summary(time_repeats(lambda: model.inference(batch), opt, args, "inference"),
                                       opt.batchSize)
        add_flop_rate(results["inference"], lambda: model.inference(batch), args.peak_tflops)
    results["peak_memory_gib"] = {"cpu_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20}
    if opt.device.startswith("cuda"):
        results["peak_memory_gib"]["cuda_max_allocated"] = torch.cuda.max_memory_allocated() / 2 ** 30
    return results


def add_flop_rate(figures: dict, work, peak_tflops: float) -> None:
    """Count the floating-point operations of one ``work()`` (convolutions and matrix products, as
    ``torch.utils.flop_counter`` counts them) and add the rate they were done at, and the model FLOP
    utilisation when the device's peak is given."""
    from torch.utils.flop_counter import FlopCounterMode

    count_packed_convolutions()
    with FlopCounterMode(display=False) as counter:
        work()
    figures["gflop_per_iteration"] = counter.get_total_flops() / 1e9
    figures["tflop_per_second"] = counter.get_total_flops() / figures["seconds_per_iteration"]["median"] / 1e12
    if peak_tflops:
        figures["model_flop_utilisation"] = figures["tflop_per_second"] / peak_tflops


def count_packed_convolutions() -> None:
    """Teach the FLOP counter oneDNN's convolution with a packed weight, which the spectral-norm layers
    run at CPU inference (``SpectralNormConv2d._packed_inference``); it knows only aten's own."""
    from torch.utils.flop_counter import conv_flop_count, flop_registry, register_flop_formula

    packed = torch.ops.mkldnn._convolution_pointwise
    if packed not in flop_registry:
        register_flop_formula(packed)(lambda x_shape, w_shape, *_, out_shape=None, **__:
                                      conv_flop_count(x_shape, w_shape, out_shape))


def device_name(opt) -> str:
    if opt.device.startswith("cuda"):
        return torch.cuda.get_device_name(opt.device)
    return f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


def print_table(results: dict) -> None:
    print(f"{results['preset']} on {results['device']} (torch {results['torch']})")
    print(f"{'phase':<10} {'s/it median':>12} {'min':>8} {'max':>8} {'it/s':>8} {'img/s':>8} {'GFLOP/it':>9} "
          f"{'TFLOP/s':>8} {'MFU':>6}")
    for phase in ("training", "inference"):
        if phase not in results:
            continue
        figures = results[phase]
        seconds = figures["seconds_per_iteration"]
        utilisation = figures.get("model_flop_utilisation")
        print(f"{phase:<10} {seconds['median']:>12.4f} {seconds['min']:>8.4f} {seconds['max']:>8.4f} "
              f"{figures['iterations_per_second']:>8.2f} {figures['images_per_second']:>8.2f} "
              f"{figures['gflop_per_iteration']:>9.1f} {figures['tflop_per_second']:>8.3f} "
              f"{f'{utilisation:.1%}' if utilisation is not None else '-':>6}")
    memory = ", ".join(f"{k} {v:.2f} GiB" for k, v in results["peak_memory_gib"].items())
    print(f"peak memory: {memory}")


def side_by_side(args) -> dict:
    """Ours and the reference in fresh processes, alternating.

    Returns {"figures": {work: {"ours": [...], "reference": [...]}}, "flags": {side: the train.py flags it got}}.
    """
    work = Path(tempfile.mkdtemp(prefix="benchmark_"))
    device = ["--gpu_ids", "0" if torch.cuda.is_available() else "-1"]
    shared = [*preset_flags(args), *device, "--checkpoints_dir", str(work / "checkpoints")]
    data = demo_data(work, shared)  # the reference's custom mode asks for folders even to time a step
    flags = {"ours": [*shared, *data, *args.flags], "reference": [*reference_flags(shared), *data]}
    reference_step = ["--labels", str(batch_labels(args, work / "labels.npy")), *flags["reference"]]
    figures = {}
    for round_index in tqdm(range(args.rounds), desc="side by side", unit="round"):
        for side in ("ours", "reference")[::1 if round_index % 2 == 0 else -1]:
            name = f"{side}_{round_index}"
            for phase, seconds in step_seconds(side, args, reference_step, work / f"{name}.json").items():
                figures.setdefault(phase, {"ours": [], "reference": []})[side].append(seconds)
            if args.whole_run_epochs:
                started = time.perf_counter()
                run_quietly([*side_command(side, args, "train.py"), *flags[side], "--name", name,
                             "--niter", str(args.whole_run_epochs)], f"{side} train.py")
                figures.setdefault("whole train.py", {"ours": [], "reference": []})[side].append(
                    time.perf_counter() - started)
    return {"figures": figures, "flags": flags}


def reference_flags(flags: list[str]) -> list[str]:
    """Our flags as the reference takes them: SEAN's code is SEAN only and has no ``--norm_mode``."""
    at = flags.index("--norm_mode")
    return flags[:at] + flags[at + 2:] if flags[at + 1] == "sean" else flags


def run_quietly(command: list[str], what: str) -> None:
    """Run a timed process with its output captured; if it fails, stop with the end of what it printed."""
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        for line in (result.stderr or result.stdout).strip().splitlines()[-12:]:
            print(f"    {line}", file=sys.stderr)
        raise UserError(f"the {what} process exited with code {result.returncode} (the end of its output is above).")


def side_command(side: str, args, work: str) -> list[str]:
    scripts = Path(__file__).resolve().parent
    if side == "reference":
        return [sys.executable, str(scripts / "reference_code.py"), args.reference, "train" if work == "train.py" else work]
    return [sys.executable, str(scripts.parent / "train.py")] if work == "train.py" else [sys.executable, __file__]


def step_seconds(side: str, args, reference_step: list[str], output: Path) -> dict:
    """{phase: seconds per iteration} of one fresh process (training step, inference, peak memory)."""
    timing = ["--iterations", str(args.iterations), "--warmup", str(args.warmup), "--repeats", "1",
              "--json", str(output)]
    if side == "reference":
        run_quietly([*side_command(side, args, "step"), *timing, *reference_step, "--name", "step"], "reference step")
        figures = json.loads(output.read_text())
        return {"training step": figures["training"][0], "inference": figures["inference"][0],
                "peak RSS (GiB)": figures["peak_rss_gib"],
                **({"peak CUDA (GiB)": figures["peak_cuda_gib"]} if "peak_cuda_gib" in figures else {})}
    batch = ["--batch", str(args.batch)] if args.batch else []
    run_quietly([*side_command(side, args, "step"), "--preset", args.preset, *batch, *timing, "--", *args.flags],
                "step")
    figures = json.loads(output.read_text())
    memory = figures["peak_memory_gib"]
    return {"training step": figures["training"]["seconds_per_iteration"]["median"],
            "inference": figures["inference"]["seconds_per_iteration"]["median"],
            "peak RSS (GiB)": memory["cpu_rss"],
            **({"peak CUDA (GiB)": memory["cuda_max_allocated"]} if "cuda_max_allocated" in memory else {})}


def batch_labels(args, path: Path) -> Path:
    """Write the class-id maps [batch, height, width] of our timed batch to ``path``, for the reference's step."""
    opt = TrainOptions().parse([*preset_flags(args), "--gpu_ids", "-1", "--name", "labels",
                                "--checkpoints_dir", "/nonexistent"])
    np.save(path, synthetic_batch(opt)["label"].squeeze(1).numpy().astype(np.uint8))
    return path


def demo_data(work: Path, shared: list[str]) -> list[str]:
    """16 demo faces at the preset's crop size; the data flags for both codes."""
    size = shared[shared.index("--crop_size") + 1]
    script = Path(__file__).resolve().parent / "make_demo_dataset.py"
    subprocess.run([sys.executable, str(script), "--out", str(work / "demo"), "--num_train", "16", "--num_test", "1",
                    "--size", size], check=True, capture_output=True)
    return ["--label_dir", str(work / "demo/train/labels"), "--image_dir", str(work / "demo/train/images")]


def print_side_by_side(figures: dict, args) -> None:
    print(f"{args.preset}, ours with {' '.join(args.flags) or 'no extra flags'}; {args.rounds} alternating rounds, "
          f"{time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, torch {torch.__version__}")
    print(f"command: python scripts/benchmark.py {' '.join(sys.argv[1:])}")
    print(f"{'work':<16} {'ours median (min-max)':>26} {'reference median (min-max)':>28} {'ours/reference':>15}")
    for work, sides in figures.items():
        ours, theirs = sides["ours"], sides["reference"]
        cells = [f"{statistics.median(v):.3f} ({min(v):.3f}-{max(v):.3f})" for v in (ours, theirs)]
        print(f"{work:<16} {cells[0]:>26} {cells[1]:>28} {statistics.median(ours) / statistics.median(theirs):>15.2f}")


def check_reference(args) -> None:
    """Stop with one sentence unless ``--reference`` is a checkout of the code base the preset's mode comes from."""
    from reference_code import CODE_BASES, identify

    flags = preset_flags(args)
    mode = flags[flags.index("--norm_mode") + 1]
    found = identify(args.reference)
    if mode not in CODE_BASES[found].norm_modes:
        wanted = next(name for name, base in CODE_BASES.items() if mode in base.norm_modes)
        raise UserError(f"--preset {args.preset} is timed against {wanted}'s code, but --reference {args.reference} "
                        f"is a checkout of {found}; clone {CODE_BASES[wanted].url} and pass its folder.")


@exits_on_user_error
def main(argv=None):
    args = parse_args(argv)
    if args.reference:
        check_reference(args)
        results = side_by_side(args)
        figures = results["figures"]
        print_side_by_side(figures, args)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
        step = figures["training step"]
        print(f"benchmark {args.preset}: ours/reference training step "
              f"{statistics.median(step['ours']) / statistics.median(step['reference']):.2f}")
        return
    results = run(args)
    print_table(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    training = results["training"]
    print(f"benchmark {args.preset}: {training['seconds_per_iteration']['median']:.4f} s per training iteration, "
          f"{training['images_per_second']:.2f} images/s")


if __name__ == "__main__":
    main()
