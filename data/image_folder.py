"""Listing the files of a dataset folder, in the reference's natural order (docs/reference.md §8.2, §8.3)."""
import os
import re

from util.errors import UserError
from util.image_extensions import IMAGE_EXTENSIONS


def natural_key(text: str):
    """Sort key comparing digit runs as numbers: ``img2`` before ``img10``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


def list_files(folder: str, flag: str, extensions=IMAGE_EXTENSIONS) -> list[str]:
    """All files under ``folder`` (recursively) with one of ``extensions``, naturally sorted.

    A ``files.list`` in the folder, one path per line, replaces the walk (as in the reference).

    Args:
        folder: the folder to list.
        flag: the flag that named the folder, for error messages.
        extensions: lower-case file suffixes to keep.
    """
    if not folder or not os.path.isdir(folder):
        raise UserError(f"{flag} {folder or '(empty)'} is not a folder; give the folder that holds the files.")
    listing = os.path.join(folder, "files.list")
    if os.path.isfile(listing):
        with open(listing) as f:
            paths = [line.strip() for line in f if line.strip()]
    else:
        paths = [os.path.join(root, name)
                 for root, _, names in os.walk(folder)
                 for name in names if name.lower().endswith(extensions)]
    if not paths:
        raise UserError(f"{flag} {folder} holds no files ending in {', '.join(extensions)}; point it at the right folder.")
    return sorted(paths, key=natural_key)


def stem(path: str) -> str:
    """File name without folder and extension."""
    return os.path.splitext(os.path.basename(path))[0]
