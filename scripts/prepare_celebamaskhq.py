"""Converts the official CelebAMask-HQ download into the custom-dataset layout SEAN uses.

    python scripts/prepare_celebamaskhq.py --root CelebAMask-HQ --out datasets/CelebA-HQ \\
        --split_file list_eval_partition.txt

reads <root>/CelebA-HQ-img/<id>.jpg and the part masks
<root>/CelebAMask-HQ-mask-anno/<id // 2000>/<id:05d>_<part>.png, and writes
<out>/{train,test}/images/<id>.jpg, labels/<id>.png (class ids 0..18 in the order of
util.celebamaskhq.CLASS_NAMES, later parts overwriting earlier ones as SEAN's g_mask.py does)
and vis/<id>.png (colour previews), all at --size.

Split, in order of preference:
  * CelebA's list_eval_partition.txt (lines "<celeba file> <0|1|2>"): the root's
    CelebA-HQ-to-CelebA-mapping.txt (columns "idx orig_idx orig_file") maps each CelebA-HQ id
    to its CelebA file; partition 0 goes to train, 1 (val) and 2 (test) to test.
  * a file of lines "<id> train|test".
  * neither: a seeded random split with --test_fraction.
Ids already done (all three files present) are skipped, so an interrupted run can be rerun.
"""

import argparse
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image, UnidentifiedImageError  # noqa: E402

from util.celebamaskhq import CLASS_NAMES, colorize  # noqa: E402
from util.errors import UserError, exits_on_user_error  # noqa: E402
from util.parallel import run_jobs  # noqa: E402
from util.files import atomic_write, check_writable_folder  # noqa: E402

IMAGE_FOLDER = "CelebA-HQ-img"
MASK_FOLDER = "CelebAMask-HQ-mask-anno"
MAPPING_FILE = "CelebA-HQ-to-CelebA-mapping.txt"
IMAGES_PER_MASK_FOLDER = 2000
PHASES = ("train", "test")
PHASE_OF_CELEBA_PARTITION = {"0": "train", "1": "test", "2": "test"}
JPEG_QUALITY = 95


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, required=True, help="the unzipped CelebAMask-HQ folder")
    parser.add_argument("--out", type=Path, default=Path("datasets/CelebA-HQ"), help="output folder")
    parser.add_argument("--size", type=int, default=256, help="side of the written images and labels")
    parser.add_argument("--split_file", type=Path, help="list_eval_partition.txt or lines '<id> train|test'")
    parser.add_argument("--test_fraction", type=float, default=0.1, help="test share of a random split (no --split_file)")
    parser.add_argument("--subset", type=int, help="prepare only this many randomly chosen images")
    parser.add_argument("--seed", type=int, default=0, help="seed of --subset and of the random split")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes")
    return parser.parse_args(argv)


def find_images(root: Path) -> dict[int, Path]:
    """CelebA-HQ id → photo path, after checking that the download's folders are there.

    Args:
        root: the CelebAMask-HQ folder holding CelebA-HQ-img/ and CelebAMask-HQ-mask-anno/.
    """
    fix = f"pass --root pointing at the unzipped CelebAMask-HQ folder (holding {IMAGE_FOLDER}/ and {MASK_FOLDER}/)"
    if not root.is_dir():
        raise UserError(f"CelebAMask-HQ folder {root} does not exist; {fix}")
    for folder in (IMAGE_FOLDER, MASK_FOLDER):
        if not (root / folder).is_dir():
            raise UserError(f"{root} has no {folder}/ folder; {fix}")
    images = {int(path.stem): path for path in (root / IMAGE_FOLDER).glob("*.jpg") if path.stem.isdigit()}
    if not images:
        raise UserError(f"{root / IMAGE_FOLDER} holds no <id>.jpg images; unzip the complete CelebAMask-HQ download there")
    return images


def read_split_file(split_file: Path, root: Path) -> dict[int, str]:
    """CelebA-HQ id → 'train' or 'test', from either split file format (see the module doc).

    Args:
        split_file: list_eval_partition.txt or a file of '<id> train|test' lines.
        root: the CelebAMask-HQ folder, whose mapping file list_eval_partition.txt needs.
    """
    rows = _read_rows(split_file)
    if not rows:
        raise UserError(f"split file {split_file} is empty; pass a list_eval_partition.txt or '<id> train|test' lines")
    if rows[0][1] in PHASES:
        return _read_id_phase_rows(rows, split_file)
    if rows[0][1] in PHASE_OF_CELEBA_PARTITION:
        return _read_celeba_partition(rows, split_file, root / MAPPING_FILE)
    raise UserError(
        f"split file {split_file} starts with '{' '.join(rows[0])}'; expected CelebA's "
        "'<file> 0|1|2' lines (list_eval_partition.txt) or '<id> train|test' lines"
    )


def _read_rows(path: Path) -> list[list[str]]:
    if not path.is_file():
        raise UserError(f"split file {path} does not exist; pass an existing --split_file or leave it out")
    return [line.split() for line in path.read_text().splitlines() if line.strip()]


def _read_id_phase_rows(rows: list[list[str]], split_file: Path) -> dict[int, str]:
    phases = {}
    for number, row in enumerate(rows, start=1):
        stem = Path(row[0]).stem
        if len(row) != 2 or not stem.isdigit() or row[1] not in PHASES:
            raise UserError(f"line {number} of split file {split_file} is '{' '.join(row)}'; expected '<id> train|test'")
        phases[int(stem)] = row[1]
    return phases


def _read_celeba_partition(rows: list[list[str]], split_file: Path, mapping_file: Path) -> dict[int, str]:
    phase_of_celeba_file = {}
    for number, row in enumerate(rows, start=1):
        if len(row) != 2 or row[1] not in PHASE_OF_CELEBA_PARTITION:
            raise UserError(f"line {number} of split file {split_file} is '{' '.join(row)}'; expected '<celeba file> 0|1|2'")
        phase_of_celeba_file[row[0]] = PHASE_OF_CELEBA_PARTITION[row[1]]
    if not mapping_file.is_file():
        raise UserError(
            f"{mapping_file} does not exist but is needed to read CelebA's partition {split_file}; "
            "put the CelebAMask-HQ download's mapping file there"
        )
    phases = {}
    for row in _read_rows(mapping_file):
        if len(row) == 3 and row[0].isdigit() and row[2] in phase_of_celeba_file:  # skips the header
            phases[int(row[0])] = phase_of_celeba_file[row[2]]
    return phases


def choose_subset(ids: list[int], subset: int | None, seed: int) -> list[int]:
    """A seeded random choice of `subset` ids (all ids when subset is None), sorted.

    Args:
        ids: the candidate ids.
        subset: how many to keep, or None for all.
        seed: random seed.
    """
    if subset is None:
        return sorted(ids)
    if not 0 < subset <= len(ids):
        raise UserError(f"--subset {subset} must lie between 1 and the {len(ids)} images available")
    return sorted(random.Random(seed).sample(sorted(ids), subset))


def random_split(ids: list[int], test_fraction: float, seed: int) -> dict[int, str]:
    """A seeded split with round(test_fraction × count) test ids (at least one if the fraction is > 0).

    Args:
        ids: the ids to split.
        test_fraction: share of test ids, in [0, 1].
        seed: random seed.
    """
    if not 0 <= test_fraction <= 1:
        raise UserError(f"--test_fraction {test_fraction} must lie between 0 and 1")
    shuffled = sorted(ids)
    random.Random(seed).shuffle(shuffled)
    test_count = round(test_fraction * len(ids))
    if test_fraction > 0:
        test_count = max(test_count, 1)
    return {image_id: "test" if index < test_count else "train" for index, image_id in enumerate(shuffled)}


def output_paths(out: Path, phase: str, image_id: int) -> tuple[Path, Path, Path]:
    """(image, label, colour preview) paths of one id."""
    phase_dir = out / phase
    return (phase_dir / "images" / f"{image_id}.jpg", phase_dir / "labels" / f"{image_id}.png",
            phase_dir / "vis" / f"{image_id}.png")


def check_mask_folders(mask_folder: Path, image_ids) -> None:
    """Stops before any work when a numbered mask sub-folder that some image needs is missing."""
    for image_id in sorted(image_ids):
        part_folder = mask_folder / str(image_id // IMAGES_PER_MASK_FOLDER)
        if not part_folder.is_dir():
            raise UserError(
                f"{mask_folder.parent} has no folder {mask_folder.name}/{part_folder.name}/ for image {image_id}; "
                "unzip the complete CelebAMask-HQ-mask-anno folder"
            )


def check_no_other_split_in(out: Path, phases: dict[int, str]) -> None:
    """Stops a rerun whose split differs from the one already in `out`, which would mix them."""
    for image_id, phase in phases.items():
        other = "test" if phase == "train" else "train"
        if any(path.exists() for path in output_paths(out, other, image_id)):
            raise UserError(
                f"{out} was prepared with another split (id {image_id} is in {other}/, now assigned to {phase}); "
                "rerun with the earlier split options or pass a new --out"
            )


def build_label(image_id: int, mask_folder: Path, size: int) -> np.ndarray:
    """The size×size class-id map of one image from its part masks (white = part).

    Args:
        image_id: CelebA-HQ id.
        mask_folder: the CelebAMask-HQ-mask-anno folder.
        size: side of the result; masks of any size are resized with nearest neighbour.
    """
    part_folder = mask_folder / str(image_id // IMAGES_PER_MASK_FOLDER)
    label = np.zeros((size, size), dtype=np.uint8)
    found_any = False
    for class_id, part in enumerate(CLASS_NAMES[1:], start=1):
        mask_file = part_folder / f"{image_id:05d}_{part}.png"
        if not mask_file.exists():
            continue
        mask = _open_image(mask_file).convert("L").resize((size, size), Image.Resampling.NEAREST)
        label[np.asarray(mask) > 127] = class_id
        found_any = True
    if not found_any:
        raise UserError(
            f"image {image_id} has no part masks in {part_folder} (expected files like {image_id:05d}_skin.png); "
            "unzip the complete CelebAMask-HQ-mask-anno folder"
        )
    return label


def _open_image(path: Path) -> Image.Image:
    try:
        image = Image.open(path)
        image.load()
        return image
    except (OSError, UnidentifiedImageError) as error:
        raise UserError(f"cannot read {path} ({error}); re-download or replace that file") from None


def _save_image(image: Image.Image, path: Path, **save_options) -> None:
    # Atomic, so that an interrupted run leaves no truncated file that a rerun would skip.
    atomic_write(path, lambda file: image.save(file, **save_options))


def prepare_one(job: tuple[int, Path, Path, Path, str, int]) -> None:
    """Writes the photo, label and colour preview of one id (a Pool task)."""
    image_id, image_file, mask_folder, out, phase, size = job
    label = build_label(image_id, mask_folder, size)
    photo = _open_image(image_file).convert("RGB").resize((size, size), Image.Resampling.LANCZOS)
    image_path, label_path, vis_path = output_paths(out, phase, image_id)
    _save_image(photo, image_path, format="JPEG", quality=JPEG_QUALITY)
    _save_image(Image.fromarray(label), label_path, format="PNG")
    _save_image(Image.fromarray(colorize(label)), vis_path, format="PNG")


def prepare(args: argparse.Namespace) -> str:
    """Runs the whole conversion and returns the summary line.

    Args:
        args: the parsed command line (see parse_args).
    """
    if args.size < 1:
        raise UserError(f"--size {args.size} must be a positive number of pixels")
    check_writable_folder(args.out, f"--out {args.out}")
    images = find_images(args.root)
    if args.split_file:
        listed = read_split_file(args.split_file, args.root)
        eligible = sorted(set(images) & set(listed))
        if not eligible:
            raise UserError(f"no image id of {args.root / IMAGE_FOLDER} is listed in split file {args.split_file}; pass the split file of this dataset")
        phases = {image_id: listed[image_id] for image_id in choose_subset(eligible, args.subset, args.seed)}
    else:
        eligible = sorted(images)
        phases = random_split(choose_subset(eligible, args.subset, args.seed), args.test_fraction, args.seed)
    check_mask_folders(args.root / MASK_FOLDER, phases)
    check_no_other_split_in(args.out, phases)
    for phase in PHASES:
        for kind in ("images", "labels", "vis"):
            (args.out / phase / kind).mkdir(parents=True, exist_ok=True)
    pending = [
        (image_id, images[image_id], args.root / MASK_FOLDER, args.out, phase, args.size)
        for image_id, phase in phases.items()
        if not all(path.exists() for path in output_paths(args.out, phase, image_id))
    ]
    run_jobs(prepare_one, pending, args.workers, "CelebAMask-HQ", "image")
    train_count = sum(phase == "train" for phase in phases.values())
    summary = (f"prepared {len(phases)} images: {train_count} train, {len(phases) - train_count} test "
               f"in {args.out}/ (skipped {len(phases) - len(pending)} already done)")
    unlisted = len(images) - len(eligible)
    if unlisted:
        summary += f"; {unlisted} images not in the split file were left out"
    return summary


@exits_on_user_error
def main(argv=None) -> None:
    print(prepare(parse_args(argv)))


if __name__ == "__main__":
    main()
