"""The classes the editor's palette offers: an id, a name and a colour each."""
from dataclasses import dataclass
from pathlib import Path

from util import celebamaskhq
from util.errors import UserError
from util.visuals import label_colormap


@dataclass(frozen=True)
class PaletteClass:
    id: int
    name: str
    colour: tuple[int, int, int]


def run_classes(opt, names_file: str = "") -> list[PaletteClass]:
    """The run's classes: names from ``names_file`` (one a line, in id order), CelebAMask-HQ's for that
    dataset mode, else the ids; colours from CelebAMask-HQ's palette for it, else the reference's colour map.

    Args:
        opt: options; reads ``label_nc``, ``contain_dontcare_label``, ``dataset_mode``.
        names_file: the ``--class_names`` file, or "".
    """
    count = opt.label_nc + (1 if opt.contain_dontcare_label else 0)
    celeba = opt.dataset_mode == "celebamaskhq" and count == len(celebamaskhq.CLASS_NAMES)
    if names_file:
        names = read_class_names(names_file, count)
    elif celeba:
        names = list(celebamaskhq.CLASS_NAMES)
    else:
        names = [f"class {i}" for i in range(count)]
    if opt.contain_dontcare_label and not names_file:
        names[-1] = "dontcare"
    colours = celebamaskhq.PALETTE if celeba else label_colormap(opt.label_nc + 2)
    return [PaletteClass(i, names[i], tuple(int(c) for c in colours[i])) for i in range(count)]


def read_class_names(path: str, count: int) -> list[str]:
    """Class names from a text file, one a line in id order; blank lines are skipped."""
    if not Path(path).is_file():
        raise UserError(f"--class_names file {path} does not exist; give a text file with one class name a line.")
    names = [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]
    if len(names) != count:
        raise UserError(f"--class_names file {path} has {len(names)} names but the run has {count} classes; "
                        f"give one name a line, in id order.")
    return names
