"""Style transfer with a SEAN model (--norm_mode sean): label map A generated with the style codes of photo B.

    python scripts/transfer_style.py --content 28001 28002 --style 28010 [--classes hair skin] \
        [--style2 28020 --alpha 0 0.25 0.5 0.75 1] --name RUN --norm_mode sean <test.py's model and data flags>

Samples are named by their file stem in the dataset that the data flags select. Instead of a photo,
``--style_codes DIR`` (and ``--style2_codes``) reads codes saved by ``test.py --save_style_codes``
(SEAN's ``style_codes/<image>/`` folders). Without ``--style2``, ``--alpha`` moves from A's own
style (0) to B's (1); with it, from B's (0) to the second style's (1). Classes a donor has no code
for keep the codes they had. Writes one picture per content and alpha and ``grid.png`` (rows:
contents; columns: label, content photo, style photo, then one result per alpha) to ``--output``.
"""
import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from torch.utils.data import default_collate
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import data  # noqa: E402
from data.image_folder import stem  # noqa: E402
from models.networks.label_pyramid import label_classes  # noqa: E402
from models.pix2pix_model import Pix2PixModel  # noqa: E402
from options.test_options import TestOptions  # noqa: E402
from util.celebamaskhq import CLASS_NAMES  # noqa: E402
from util.errors import UserError, exits_on_user_error  # noqa: E402
from util.style_codes import blend_codes, load_codes_folder  # noqa: E402
from util.visuals import colorize_label, tensor_to_image  # noqa: E402


def transfer_arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="All other flags are test.py's (model, data, --name ...).")
    parser.add_argument("--content", nargs="+", required=True, help="stems of the samples whose label maps are drawn")
    donor = parser.add_mutually_exclusive_group(required=True)
    donor.add_argument("--style", help="stem of the sample whose photo gives the style")
    donor.add_argument("--style_codes", help="a style_codes/<image> folder written by test.py --save_style_codes")
    second = parser.add_mutually_exclusive_group()
    second.add_argument("--style2", help="stem of a second style sample to interpolate towards")
    second.add_argument("--style2_codes", help="a second style_codes/<image> folder to interpolate towards")
    parser.add_argument("--alpha", type=float, nargs="+", default=[1.0], help="interpolation weights, one column each")
    parser.add_argument("--classes", nargs="+", default=None,
                        help="class names (CelebAMask-HQ: hair, skin, ...) or ids that take the new style; default all")
    parser.add_argument("--output", default="", help="folder of the pictures (default [results_dir]/[name]/transfer_[which_epoch])")
    return parser


def class_ids(names, classes: int) -> list[int] | None:
    if names is None:
        return None
    ids = []
    for name in names:
        if name.isdigit() and int(name) < classes:
            ids.append(int(name))
        elif name in CLASS_NAMES[:classes]:
            ids.append(CLASS_NAMES.index(name))
        else:
            raise UserError(f"--classes: '{name}' is neither a class id below {classes} nor one of "
                            f"{', '.join(CLASS_NAMES[:classes])}; fix the name.")
    return ids


class Samples:
    """Dataset samples by file stem, as single-sample batches."""

    def __init__(self, opt):
        self.dataset = data.create_dataset(opt)
        self.index = {stem(path): i for i, path in enumerate(self.dataset.label_paths)}

    def batch(self, name: str) -> dict:
        if name not in self.index:
            raise UserError(f"sample '{name}' is not in the dataset (--label_dir/--image_dir); use a file stem such as "
                            f"{next(iter(self.index), '00000')}.")
        return default_collate([self.dataset[self.index[name]]])


def donor_codes(model, samples, name, folder, classes, length):
    """(codes [classes, length], present [classes], photo or None) of a style sample or a saved codes folder."""
    if folder:
        codes, present = load_codes_folder(Path(folder), classes, length)
        return codes, present, None
    batch = samples.batch(name)
    codes, present = model.style_codes(batch)
    return codes[0].cpu(), present[0].cpu(), batch["image"][0]


def picture(tensor_or_none, size) -> np.ndarray:
    if tensor_or_none is None:
        return np.full((*size, 3), 255, dtype=np.uint8)
    return tensor_to_image(tensor_or_none)


@exits_on_user_error
def main(argv=None) -> Path:
    args, rest = transfer_arguments().parse_known_args(None if argv is None else [str(a) for a in argv])
    opt = TestOptions().parse(rest)
    if opt.norm_mode != "sean":
        raise UserError("style transfer needs a SEAN model: add --norm_mode sean (and the run's flags).")
    classes, length = label_classes(opt), opt.style_length
    chosen = class_ids(args.classes, classes)
    model = Pix2PixModel(opt).to(opt.device).eval()
    samples = Samples(opt)
    output = Path(args.output) if args.output else Path(opt.results_dir) / opt.name / f"transfer_{opt.which_epoch}"
    output.mkdir(parents=True, exist_ok=True)

    donor, donor_present, donor_photo = donor_codes(model, samples, args.style, args.style_codes, classes, length)
    second = None
    if args.style2 or args.style2_codes:
        second = donor_codes(model, samples, args.style2, args.style2_codes, classes, length)[:2]
    donor_name = args.style or Path(args.style_codes).name
    rows = []
    for content in tqdm(args.content, desc="transfer", unit="label map"):
        batch = samples.batch(content)
        own, _ = model.style_codes(batch)
        styled = blend_codes(own[0].cpu(), donor, donor_present, chosen)
        start, end, end_present = (styled, *second) if second else (own[0].cpu(), donor, donor_present)
        size = tuple(batch["image"].shape[2:])
        row = [colorize_label(batch["label"][0], opt.label_nc + 2), tensor_to_image(batch["image"][0]),
               picture(donor_photo, size)]
        for alpha in args.alpha:
            codes = blend_codes(start, end, end_present, chosen, alpha)
            result = tensor_to_image(model.generate_with_style_codes(batch, codes.unsqueeze(0))[0])
            Image.fromarray(result).save(output / f"{content}_styled_by_{donor_name}_alpha{alpha:g}.png")
            row.append(result)
        rows.append(np.concatenate(row, axis=1))
    Image.fromarray(np.concatenate(rows, axis=0)).save(output / "grid.png")
    print(f"wrote {len(args.content) * len(args.alpha)} pictures and {output / 'grid.png'}")
    return output


if __name__ == "__main__":
    main()
