"""Writes the CLADE-ICPE positional map (`<stem>.npy`, float32 [2, H, W]) of every label map.

    python scripts/compute_dist_maps.py --label_dir datasets/CelebA-HQ/train/labels

writes datasets/CelebA-HQ/train/dist/<id>.npy. Files already there are kept, so an interrupted
run continues where it stopped.
"""

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image, UnidentifiedImageError  # noqa: E402

from data.positional_offsets import positional_offsets  # noqa: E402
from util.errors import UserError, exits_on_user_error  # noqa: E402
from util.parallel import run_jobs  # noqa: E402
from util.files import atomic_write, check_writable_folder  # noqa: E402

LABEL_SUFFIX = ".png"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--label_dir", type=Path, required=True, help="folder of label maps (.png of class ids)")
    parser.add_argument("--out_dir", type=Path, help="where the .npy files go (default: <label_dir>/../dist)")
    parser.add_argument("--no_norm", action="store_true", help="keep raw pixel offsets (CLADE's --norm no)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes")
    return parser.parse_args(argv)


def find_label_files(label_dir: Path) -> list[Path]:
    """The label maps in label_dir, sorted by name.

    Args:
        label_dir: folder holding `<stem>.png` label maps.
    """
    if not label_dir.is_dir():
        raise UserError(f"label folder {label_dir} does not exist; pass --label_dir pointing at a folder of .png label maps")
    label_files = sorted(label_dir.glob(f"*{LABEL_SUFFIX}"))
    if not label_files:
        raise UserError(f"label folder {label_dir} holds no {LABEL_SUFFIX} files; pass --label_dir pointing at a folder of .png label maps")
    return label_files


def read_label(label_file: Path) -> np.ndarray:
    """The class-id map stored in a grayscale or palette PNG."""
    try:
        with Image.open(label_file) as image:
            if image.mode not in ("L", "P", "I", "I;16"):
                raise UserError(
                    f"label map {label_file} is a {image.mode} image, not a map of class ids; "
                    "use the grayscale label PNGs, not the colour previews"
                )
            return np.array(image)
    except (OSError, UnidentifiedImageError) as error:
        raise UserError(f"cannot read label map {label_file} ({error}); replace or delete the file") from None


def write_dist_map(job: tuple[Path, Path, bool]) -> None:
    label_file, out_file, normalize = job
    offsets = positional_offsets(read_label(label_file), normalize=normalize)
    # Atomic, so that an interrupted run leaves no truncated file that a rerun would skip.
    atomic_write(out_file, lambda file: np.save(file, offsets))


def compute_dist_maps(label_dir: Path, out_dir: Path, normalize: bool, workers: int) -> tuple[int, int]:
    """Writes `<out_dir>/<stem>.npy` for every label map that has none yet.

    Args:
        label_dir: folder of `<stem>.png` label maps.
        out_dir: destination folder, created if missing.
        normalize: per-component normalisation to (−1, 1), see positional_offsets.
        workers: number of processes.

    Returns:
        (written, skipped): counts of new files and of files that were already there.
    """
    label_files = find_label_files(label_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(label_file, out_dir / f"{label_file.stem}.npy", normalize) for label_file in label_files]
    pending = [job for job in jobs if not job[1].exists()]
    run_jobs(write_dist_map, pending, workers, "positional maps", "map", chunksize=8)
    return len(pending), len(jobs) - len(pending)


@exits_on_user_error
def main(argv=None) -> None:
    args = parse_args(argv)
    out_dir = args.out_dir or args.label_dir.parent / "dist"
    check_writable_folder(out_dir, f"--out_dir {out_dir}")
    written, skipped = compute_dist_maps(args.label_dir, out_dir, not args.no_norm, args.workers)
    print(f"wrote {written} positional maps to {out_dir} (skipped {skipped} already done)")


if __name__ == "__main__":
    main()
