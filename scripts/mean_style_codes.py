"""Per-class mean of the style codes that test.py --save_style_codes wrote, in SEAN's layout.

    python scripts/mean_style_codes.py results/RUN/test_latest

reads ``<folder>/style_codes/<image>/<class>/ACE.npy`` and writes
``<folder>/mean_style_code/mean/<class>/ACE.npy`` (the average over the images that have the class),
which SEAN's editing UI uses for regions without a code of their own.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from util.errors import exits_on_user_error  # noqa: E402
from util.style_codes import MEAN_FOLDER, write_mean_codes  # noqa: E402


@exits_on_user_error
def main(argv=None) -> dict[int, int]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="a test result folder holding style_codes/")
    parser.add_argument("--label_nc", type=int, default=None, help="ignore class folders with ids >= this")
    args = parser.parse_args(argv)
    counts = write_mean_codes(args.folder, args.label_nc)
    print(f"wrote the mean codes of {len(counts)} classes (from {max(counts.values())} images at most) to "
          f"{args.folder / MEAN_FOLDER}")
    return counts


if __name__ == "__main__":
    main()
