"""Generate pictures for a dataset with a trained generator (docs/reference.md §7), optionally with their FID.

    python test.py --name RUN --dataset_mode custom --label_dir L --image_dir I --label_nc 19 --no_instance
    python test.py --name RUN ... --use_ema --compute_fid
    python test.py --name RUN ... --norm_mode sean --save_style_codes --compute_recon_metrics
"""
import time
from pathlib import Path

import torch
from PIL import Image
from tqdm import tqdm

import data
from models.pix2pix_model import Pix2PixModel
from options.test_options import TestOptions
from util import fid
from util.checkpoint import load_network
from util.errors import UserError, exits_on_user_error
from util.files import check_writable_folder
from util.html import HTMLPage
from util.reconstruction_metrics import ReconstructionMetrics
from util.style_codes import save_image_codes
from util.visuals import colorize_label, tensor_to_image


@exits_on_user_error
def main(argv=None) -> Path:
    opt = TestOptions().parse(argv)
    if opt.save_style_codes and opt.norm_mode != "sean":
        raise UserError("--save_style_codes needs --norm_mode sean (only SEAN has style codes); add it or drop the flag.")
    web_dir = Path(opt.results_dir) / opt.name / f"{opt.phase}_{opt.which_epoch}{'_ema' if opt.use_ema else ''}"
    check_writable_folder(web_dir, f"--results_dir {opt.results_dir}")
    dataloader = data.create_dataloader(opt)
    model = Pix2PixModel(opt).to(opt.device).eval()
    if opt.use_ema:
        load_network(model.netG, "G_ema", opt.which_epoch, opt)
    if opt.compute_fid:  # before generating: missing Inception weights stop the run at once
        inception = fid.load_inception(opt.eval_dims, opt.fid_weights or None, opt.device)
        real, fake = fid.ActivationStatistics(inception), fid.ActivationStatistics(inception)
    recon = ReconstructionMetrics() if opt.compute_recon_metrics else None

    page = HTMLPage(web_dir, f"Experiment = {opt.name}, Phase = {opt.phase}, Epoch = {opt.which_epoch}")
    total = min(len(dataloader.dataset), opt.how_many)
    written = 0
    with tqdm(total=total, desc="test", unit="img") as progress:
        for batch in dataloader:
            codes = model.style_codes(batch) if opt.save_style_codes else None
            # the reconstruction from the codes just encoded: the same picture as inference, one encoding pass
            generated = model.generate_with_style_codes(batch, codes[0]) if codes else model.inference(batch)
            kept = min(generated.size(0), total - written)
            if opt.compute_fid:  # the statistics of exactly the pictures written
                real.add(batch["image"][:kept])
                fake.add(fid.as_saved_8bit(generated[:kept]))
            for b in range(kept):
                save_result(web_dir, Path(batch["path"][b]).stem, batch["label"][b], generated[b], batch["image"][b],
                            opt, page)
                if codes is not None:  # SEAN names the folder after the photo's file name, extension kept
                    save_image_codes(web_dir, Path(batch["path"][b]).name, codes[0][b], codes[1][b])
                if recon is not None:
                    recon.add(tensor_to_image(generated[b]), tensor_to_image(batch["image"][b]))
                written += 1
                progress.update(1)
            if written >= total:
                break
    page.save()
    print(f"wrote {written} pictures to {web_dir / 'images'} and {web_dir / 'index.html'}")
    if opt.compute_fid:
        record_fid(web_dir, fid.frechet_distance(*real.result(), *fake.result()), written, opt)
    if recon is not None:
        scores = "  ".join(f"{name} {value:.4f}" for name, value in recon.result().items())
        record_line(web_dir / "recon_metrics.txt", f"{scores}  ({written} images vs their real images, "
                                                   f"{weights_file(opt)}; RMSE on [0, 1])")
    return web_dir


def record_fid(web_dir: Path, distance: float, image_count: int, opt) -> None:
    """Print the FID and append it as a line to ``<web_dir>/fid.txt``."""
    record_line(web_dir / "fid.txt", f"FID {max(distance, 0.0):.4f}  ({image_count} images vs their real images, "
                                     f"Inception dims {opt.eval_dims}, {weights_file(opt)})")
    note = fid.few_images_note(image_count, opt.eval_dims)
    if note:
        print(note)


def weights_file(opt) -> str:
    return f"{opt.which_epoch}_net_G{'_ema' if opt.use_ema else ''}.pth"


def record_line(path: Path, text: str) -> None:
    """Print a dated result line and append it to ``path``."""
    line = f"{time.strftime('%Y-%m-%d %H:%M:%S')}  {text}"
    with open(path, "a") as record:
        record.write(line + "\n")
    print(line)


def save_result(web_dir: Path, stem: str, label: torch.Tensor, generated: torch.Tensor, real: torch.Tensor, opt,
                page: HTMLPage) -> None:
    """Write ``images/{input_label,synthesized_image,real_image}/<stem>.png`` and add them as a row to the page.

    The real image is the photo as the network saw it (resized and cropped like the label).
    """
    pictures = {"input_label": colorize_label(label, opt.label_nc + 2), "synthesized_image": tensor_to_image(generated),
                "real_image": tensor_to_image(real)}
    row = []
    for kind, array in pictures.items():
        relative = f"images/{kind}/{stem}.png"
        (web_dir / "images" / kind).mkdir(parents=True, exist_ok=True)
        Image.fromarray(array).save(web_dir / relative)
        row.append((relative, kind))
    page.add_header(stem)
    page.add_images(row, opt.display_winsize)


if __name__ == "__main__":
    main()
