"""Open every file of a dataset once before training, so that bad data stops the run before it starts.

``validate_dataset`` raises a ``UserError`` naming the first bad file and the fix (training stops
there); ``inspect_dataset`` returns every problem with the dataset's statistics (for
``scripts/check_dataset.py``). Label maps are decoded fully (their ids are checked); photos are
checked without decoding where the format allows (a PNG's chunk checksums, a JPEG's end marker):
about 0.7 s per 1000 samples of 256×256 (1.3 s at 512×512) on two busy CPU cores. Counts and names
of the file lists are checked where the dataset is built (``Pix2pixDataset``), not here.
"""
import hashlib
import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from data.pix2pix_dataset import (ID_MAP_MODES, dist_shape_problem, dist_unreadable_message, id_counts,
                                  unreadable_message)
from util.errors import UserError
from util.files import atomic_write_bytes

JPEG_END_MARKER = b"\xff\xd9"
# errors PIL raises for unreadable, truncated or corrupt files (SyntaxError: "broken PNG file")
READ_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)
# PIL decodes without holding the GIL, and files may sit on network storage where waiting dominates
THREADS = min(32, 4 * (os.cpu_count() or 1))
# in the run folder: the fingerprint of the files that last passed the check
CHECK_RECORD = "dataset_check.txt"


@dataclass
class DatasetReport:
    """What ``inspect_dataset`` found.

    Attributes:
        samples: number of samples checked.
        files: number of files opened.
        image_sizes: (width, height) → number of photos of that size.
        label_sizes: (width, height) → number of label maps of that size.
        class_pixels: label id → number of pixels holding it, over all label maps.
        problems: one sentence per problem found, in sample order.
        seconds: time the check took.
        from_cache: the files were unchanged since a passed check, which was not repeated.
    """
    samples: int = 0
    files: int = 0
    image_sizes: Counter = field(default_factory=Counter)
    label_sizes: Counter = field(default_factory=Counter)
    class_pixels: Counter = field(default_factory=Counter)
    problems: list = field(default_factory=list)
    seconds: float = 0.0
    from_cache: bool = False


@dataclass
class _SampleFindings:
    files: int = 0
    image_size: tuple | None = None
    label_size: tuple | None = None
    class_pixels: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)


def validate_dataset(dataset, opt, progress: bool = True) -> DatasetReport:
    """Check every file of ``dataset``; raise a ``UserError`` naming the first bad one.

    A passed check is remembered in the run folder (``dataset_check.txt``, when the folder
    exists) by a fingerprint of the file list, sizes and modification times, so relaunching or
    resuming a run over unchanged files skips the check.

    Args:
        dataset: a ``Pix2pixDataset`` (any dataset mode).
        opt: the resolved options (``add_dist`` also checks precomputed positional maps);
            ``checkpoints_dir`` and ``name`` locate the run folder.
        progress: show a progress bar.

    Returns:
        The report when nothing is wrong (``from_cache`` and no statistics when the check was skipped).
    """
    record = Path(opt.checkpoints_dir) / opt.name / CHECK_RECORD
    fingerprint = dataset_fingerprint(dataset, opt)
    if record.is_file() and record.read_text().strip() == fingerprint:
        return DatasetReport(samples=len(dataset), from_cache=True)
    report = inspect_dataset(dataset, opt, progress)
    if report.problems:
        first, more = report.problems[0], len(report.problems) - 1
        if more:
            first = (f"{first.rstrip('.')} (and {more} more problem{'s' if more > 1 else ''}: "
                     f"scripts/check_dataset.py with the same flags lists them all).")
        raise UserError(first)
    if record.parent.is_dir():
        atomic_write_bytes(record, fingerprint.encode())
    return report


def dataset_fingerprint(dataset, opt) -> str:
    """A hash of everything a check depends on: the checking flags, every file's path, size and mtime.

    Args:
        dataset: a ``Pix2pixDataset``.
        opt: the resolved options.
    """
    digest = hashlib.sha256(repr([opt.dataset_mode, opt.label_nc, opt.contain_dontcare_label, opt.no_instance,
                                  opt.add_dist]).encode())
    dist_paths = [dataset.precomputed_dist_path(path) for path in dataset.label_paths] if opt.add_dist else []
    for path in [*dataset.label_paths, *dataset.image_paths, *dataset.instance_paths, *filter(None, dist_paths)]:
        try:
            status = os.stat(path)
            digest.update(f"{path}\0{status.st_size}\0{status.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{path}\0missing\n".encode())
    return digest.hexdigest()


def inspect_dataset(dataset, opt, progress: bool = True) -> DatasetReport:
    """Open every label, photo, instance map (and precomputed positional map) once; collect all problems.

    Args:
        dataset: a ``Pix2pixDataset`` (any dataset mode).
        opt: the resolved options; reads ``add_dist``.
        progress: show a progress bar.
    """
    started = time.perf_counter()
    report = DatasetReport(samples=len(dataset))
    with ThreadPoolExecutor(THREADS) as pool, \
            tqdm(total=len(dataset), desc="checking dataset", unit="sample", disable=not progress) as bar:
        for findings in pool.map(lambda index: _inspect_sample(dataset, opt, index), range(len(dataset))):
            report.files += findings.files
            report.problems += findings.problems
            report.class_pixels.update(findings.class_pixels)
            if findings.image_size:
                report.image_sizes[findings.image_size] += 1
            if findings.label_size:
                report.label_sizes[findings.label_size] += 1
            bar.update()
    report.seconds = time.perf_counter() - started
    return report


def _inspect_sample(dataset, opt, index: int) -> _SampleFindings:
    found = _SampleFindings()
    label_path, image_path = dataset.label_paths[index], dataset.image_paths[index]
    found.label_size, found.class_pixels, label_problem = _inspect_label(dataset, label_path)
    found.image_size, image_problem = _inspect_photo(image_path)
    found.problems += [p for p in (label_problem, image_problem) if p]
    found.files += 2
    if found.label_size and found.image_size and found.label_size != found.image_size:
        found.problems.append(_size_mismatch(label_path, found.label_size, "its image", image_path,
                                             found.image_size))
    if dataset.instance_paths:
        instance_path = dataset.instance_paths[index]
        instance_size, instance_problem = _inspect_instance(instance_path)
        found.files += 1
        if instance_problem:
            found.problems.append(instance_problem)
        elif found.label_size and instance_size != found.label_size:
            found.problems.append(_size_mismatch(label_path, found.label_size, "its instance map", instance_path,
                                                 instance_size))
    if opt.add_dist and found.label_size:
        dist_path = dataset.precomputed_dist_path(label_path)
        if dist_path and os.path.isfile(dist_path):
            found.files += 1
            problem = _inspect_dist(dist_path, label_path, found.label_size)
            if problem:
                found.problems.append(problem)
    return found


def _inspect_label(dataset, path: str) -> tuple[tuple | None, dict, str | None]:
    """(size, pixels per id, problem) of one label map, decoded in full."""
    try:
        with Image.open(path) as label:
            size, mode = label.size, label.mode
            if mode not in ID_MAP_MODES:
                return size, {}, dataset.label_problem(path, mode, np.zeros(0, dtype=np.int64))
            ids = np.asarray(label)
    except READ_ERRORS as error:
        return None, {}, unreadable_message(path, error)
    values, counts = id_counts(ids)
    return size, dict(zip(values.tolist(), counts.tolist())), dataset.label_problem(path, mode, values)


def _inspect_photo(path: str) -> tuple[tuple | None, str | None]:
    """(size, problem) of one photo."""
    try:
        with Image.open(path) as photo:
            _check_complete(photo, path)
            return photo.size, None
    except READ_ERRORS as error:
        return None, unreadable_message(path, error)


def _check_complete(picture: Image.Image, path: str) -> None:
    """Raise a PIL error for a truncated or corrupt file, decoding only where the format needs it."""
    if picture.format == "PNG":
        picture.verify()  # walks every chunk and its checksum: catches truncation without decoding
    elif picture.format != "JPEG" or not _ends_with_jpeg_marker(path):
        picture.load()  # a JPEG without its end marker is usually truncated: decode to be sure


def _ends_with_jpeg_marker(path: str) -> bool:
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() < len(JPEG_END_MARKER):
            return False
        f.seek(-len(JPEG_END_MARKER), os.SEEK_END)
        return f.read() == JPEG_END_MARKER


def _inspect_instance(path: str) -> tuple[tuple | None, str | None]:
    try:
        with Image.open(path) as instance:
            size, mode = instance.size, instance.mode
            if mode not in ID_MAP_MODES:
                return size, (f"instance map {path} is a colour image ({mode}); instance maps must be single-channel "
                              f"images of instance ids (8-, 16- or 32-bit grayscale).")
            _check_complete(instance, path)
    except READ_ERRORS as error:
        return None, unreadable_message(path, error)
    return size, None


def _inspect_dist(path: str, label_path: str, label_size: tuple) -> str | None:
    try:
        shape = np.load(path, mmap_mode="r").shape
    except READ_ERRORS as error:
        return dist_unreadable_message(path, error)
    return dist_shape_problem(path, shape, label_path, label_size)


def _size_mismatch(label_path: str, label_size: tuple, role: str, other_path: str, other_size: tuple) -> str:
    return (f"label file {label_path} is {label_size[0]}x{label_size[1]} but {role} {other_path} is "
            f"{other_size[0]}x{other_size[1]}; resize one to the other's size (labels with nearest-neighbour) "
            f"or fix the pairing.")
