"""Times the data loader alone: images per second for several --nThreads values.

    python scripts/benchmark_loader.py --dataset_mode celebamaskhq --dataroot datasets/CelebA-HQ \\
        --batchSize 8 --threads 0,2,4,8

takes the dataset flags of train.py. For every worker count it runs one warm-up pass over the
data (starting the workers, filling the page cache), then --repeats timed passes, and prints the
median, slowest and fastest rate. A model that trains at N images/s needs a loader well above N.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import data  # noqa: E402
from options.train_options import TrainOptions  # noqa: E402
from util.errors import UserError, exits_on_user_error  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=str, default="0,2,4", help="comma-separated --nThreads values to time")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per value")
    parser.add_argument("--max_batches", type=int, default=0, help="stop a pass after this many batches (0: all)")
    args, dataset_flags = parser.parse_known_args(argv)
    try:
        args.threads = [int(n) for n in args.threads.split(",")]
    except ValueError:
        raise UserError(f"--threads '{args.threads}' is not a comma-separated list of integers; use e.g. 0,2,4.")
    # the CPU unless asked otherwise: the loader needs no GPU, and a later --gpu_ids wins
    return args, TrainOptions().parse(["--gpu_ids", "-1", *dataset_flags])


def time_pass(loader, epoch: int, max_batches: int) -> tuple[int, float]:
    """(images, seconds) of one pass over the loader.

    Args:
        loader: from ``data.create_dataloader``.
        epoch: the sampler's epoch (a new order every pass).
        max_batches: stop after this many batches; 0 for the whole epoch.
    """
    loader.batch_sampler.set_epoch(epoch)
    images, started = 0, time.perf_counter()
    for number, batch in enumerate(loader, start=1):
        images += batch["image"].size(0)
        if number == max_batches:
            break
    return images, time.perf_counter() - started


def benchmark(opt, threads: list[int], repeats: int, max_batches: int) -> list[tuple[int, list[float]]]:
    """Images per second of every timed pass, per worker count.

    Args:
        opt: the resolved training options (their ``nThreads`` is replaced in turn).
        threads: worker counts to time.
        repeats: timed passes per worker count, after one warm-up pass.
        max_batches: batches per pass (0: a whole epoch).
    """
    dataset = data.create_dataset(opt)
    results = []
    for workers in threads:
        opt.nThreads = workers
        loader = data.create_dataloader(opt, dataset)
        time_pass(loader, 0, max_batches)
        rates = []
        for epoch in range(1, repeats + 1):
            images, seconds = time_pass(loader, epoch, max_batches)
            rates.append(images / seconds)
        results.append((workers, rates))
        del loader  # stops its persistent workers before the next count starts its own
    return results


def format_table(opt, results, repeats: int) -> str:
    lines = [f"loader: --dataset_mode {opt.dataset_mode}, --batchSize {opt.batchSize}, --preprocess_mode "
             f"{opt.preprocess_mode}, --load_size {opt.load_size}, --crop_size {opt.crop_size}"
             f"{', --add_dist' if opt.add_dist else ''}; median of {repeats} passes after a warm-up",
             f"{'nThreads':>8}  {'images/s':>10}  {'slowest':>10}  {'fastest':>10}"]
    for workers, rates in results:
        lines.append(f"{workers:>8}  {statistics.median(rates):>10.1f}  {min(rates):>10.1f}  {max(rates):>10.1f}")
    return "\n".join(lines)


@exits_on_user_error
def main(argv=None) -> int:
    args, opt = parse_args(sys.argv[1:] if argv is None else list(argv))
    results = benchmark(opt, args.threads, args.repeats, args.max_batches)
    print(format_table(opt, results, args.repeats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
