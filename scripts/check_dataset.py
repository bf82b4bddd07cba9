"""Checks a dataset the way training would see it, and prints what it holds and every problem.

    python scripts/check_dataset.py --dataset_mode custom --label_dir L --image_dir I --label_nc 19 --no_instance

takes the dataset flags of train.py and prints the number of samples, the sizes of the photos and
label maps, the share of pixels per class (with CelebAMask-HQ's class names for --label_nc 19) and
every problem found (train.py stops at the first one). Exits with 1 when there are problems.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import data  # noqa: E402
from data.pix2pix_dataset import DONTCARE  # noqa: E402
from data.validation import inspect_dataset  # noqa: E402
from options.train_options import TrainOptions  # noqa: E402
from util.celebamaskhq import CLASS_NAMES  # noqa: E402
from util.errors import exits_on_user_error  # noqa: E402


@exits_on_user_error
def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # the CPU unless asked otherwise: checking needs no GPU, and a later --gpu_ids wins
    opt = TrainOptions().parse(["--gpu_ids", "-1", *argv])
    dataset = data.create_dataset(opt)
    report = inspect_dataset(dataset, opt)
    print(format_summary(report, opt))
    return 1 if report.problems else 0


def format_summary(report, opt) -> str:
    """The printed summary: counts, sizes, class shares, problems.

    Args:
        report: a ``DatasetReport`` from ``inspect_dataset``.
        opt: the resolved options; reads ``dataset_mode``, ``label_nc``, ``no_instance``.
    """
    instances = "no instance maps" if opt.no_instance else f"{report.samples} instance maps"
    lines = [f"dataset mode {opt.dataset_mode}: {report.samples} samples ({instances}), "
             f"{report.files} files checked in {report.seconds:.1f} s",
             "photo sizes (width x height: count):", *_size_lines(report.image_sizes),
             "label sizes (width x height: count):", *_size_lines(report.label_sizes),
             "classes (share of labelled pixels):", *_class_lines(report.class_pixels, opt.label_nc)]
    if report.problems:
        lines += [f"{len(report.problems)} problem{'s' if len(report.problems) > 1 else ''}:",
                  *(f"  {problem}" for problem in report.problems)]
    else:
        lines.append("no problems found")
    return "\n".join(lines)


def _size_lines(sizes) -> list[str]:
    return [f"  {w}x{h}: {count}" for (w, h), count in sizes.most_common()] or ["  (none readable)"]


def _class_lines(class_pixels, label_nc: int) -> list[str]:
    total = sum(class_pixels.values()) or 1
    names = CLASS_NAMES if label_nc == len(CLASS_NAMES) else ()

    def named(class_id: int) -> str:
        return names[class_id] if class_id < len(names) else "dontcare" if class_id == DONTCARE else ""

    lines = [f"  {class_id:>5} {named(class_id):<12} {100 * class_pixels[class_id] / total:6.2f}%"
             for class_id in sorted(class_pixels)]
    absent = [f"{class_id} {named(class_id)}".strip() for class_id in range(label_nc) if class_id not in class_pixels]
    if absent:
        lines.append(f"  absent: {', '.join(absent)}")
    return lines

if __name__ == "__main__":
    sys.exit(main())
