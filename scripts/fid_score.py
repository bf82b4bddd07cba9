"""Fréchet Inception Distance between two image folders or saved statistics.

    python scripts/fid_score.py REAL FAKE            # folders or .npz statistics
    python scripts/fid_score.py FOLDER --save-stats OUT.npz

The FID goes to stdout as `FID: 12.3456`; progress and what was compared go to stderr.
"""
import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from util import fid  # noqa: E402
from util.errors import UserError, exits_on_user_error  # noqa: E402
from util.files import check_writable_folder  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="FID between two image folders or .npz statistics (pytorch-fid's Inception).")
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="REAL FAKE to compare, or one FOLDER with --save-stats")
    parser.add_argument("--batch-size", type=int, default=50, help="images per Inception batch")
    parser.add_argument("--dims", type=int, default=2048, choices=fid.SUPPORTED_DIMS,
                        help="Inception feature size; 2048 is the FID papers report")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                        help="cpu, cuda or cuda:N (default: cuda when available)")
    parser.add_argument("--weights", type=Path, default=None,
                        help=f"local {fid.WEIGHTS_FILE_NAME} instead of the torch hub cache")
    parser.add_argument("--save-stats", type=Path, default=None, metavar="OUT.npz",
                        help="save the statistics of the one FOLDER given instead of comparing")
    parser.add_argument("--num-workers", type=int, default=min(8, os.cpu_count() or 1),
                        help="processes that decode images")
    args = parser.parse_args(argv)
    expected = 1 if args.save_stats else 2
    if len(args.paths) != expected:
        parser.error(f"expected {expected} path(s), got {len(args.paths)}: "
                     "give REAL FAKE, or FOLDER --save-stats OUT.npz")
    return args


def checked_device(name: str) -> torch.device:
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"--device {name} is not a device; use cpu, cuda or cuda:N.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {name} was asked for but CUDA is not available; "
                        "use --device cpu.")
    return device


class StatisticsSource:
    """Computes the statistics of folders, loading Inception only when a folder needs it."""

    def __init__(self, args):
        self.args = args
        self.model = None
        self.device = None

    def statistics(self, path: Path):
        """(mu, sigma, description) of an image folder or a .npz file."""
        if path.suffix == ".npz" and not path.is_dir():
            mu, sigma = fid.load_statistics(path)
            return mu, sigma, f"{path} (saved statistics, dims {len(mu)})"
        args = self.args
        if self.model is None:
            self.device = checked_device(args.device)
            self.model = fid.load_inception(args.dims, args.weights, self.device)
        mu, sigma = fid.folder_statistics(path, self.model, args.batch_size, self.device,
                                          num_workers=args.num_workers)
        image_count = len(fid.image_paths(path))
        return mu, sigma, f"{path} ({image_count} images, dims {args.dims})"


def save_folder_statistics(args):
    folder = args.paths[0]
    if folder.suffix == ".npz" and not folder.is_dir():
        raise UserError(f"{folder} already holds statistics; --save-stats needs an image folder.")
    mu, sigma, description = StatisticsSource(args).statistics(folder)
    fid.save_statistics(args.save_stats, mu, sigma)
    print(f"Saved statistics of {description} to {args.save_stats}")


def compare(args):
    source = StatisticsSource(args)
    mu1, sigma1, description1 = source.statistics(args.paths[0])
    mu2, sigma2, description2 = source.statistics(args.paths[1])
    if mu1.shape != mu2.shape:
        raise UserError(f"Cannot compare {description1} with {description2}; compute both "
                        "with the same --dims.")
    # The eps offset of singular covariances can put equal statistics a hair below 0.
    distance = max(fid.frechet_distance(mu1, sigma1, mu2, sigma2), 0.0)
    print(f"compared {description1} with {description2}", file=sys.stderr)
    print(f"FID: {distance:.4f}")


def check_inputs(args) -> None:
    """The cheap checks of every path, so that a wrong one fails before the Inception weights load."""
    for path in args.paths:
        if path.suffix == ".npz" and not path.is_dir():
            fid.load_statistics(path)
        else:
            fid.image_paths(path, at_least=2)
    if args.save_stats is not None:
        if args.save_stats.is_dir():
            raise UserError(f"--save-stats {args.save_stats} is a folder; give the path of the .npz file to write.")
        check_writable_folder(args.save_stats.parent, f"--save-stats {args.save_stats}")
    if args.weights is not None and not args.weights.is_file():
        raise UserError(f"--weights {args.weights} does not exist; give the path of {fid.WEIGHTS_FILE_NAME}.")
    checked_device(args.device)


@exits_on_user_error
def main(argv=None):
    args = parse_args(argv)
    args.paths = [Path(path) for path in args.paths]
    check_inputs(args)
    if args.save_stats:
        save_folder_statistics(args)
    else:
        compare(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
