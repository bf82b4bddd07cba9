"""What a training run shows: loss lines (console + loss_log.txt), TensorBoard, and the web/ page (docs/reference.md §5.4, §5.5)."""
import re
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from util.distributed import is_main
from util.html import HTMLPage
from util.visuals import colorize_label, tensor_to_image

VISUAL_LABELS = ("input_label", "synthesized_image", "real_image")
PICTURE_NAME = re.compile(r"epoch(\d+)_iter(\d+)_(\w+)\.png")


class Visualizer:
    """Args:
        opt: options; reads ``checkpoints_dir``, ``name``, ``tf_log``, ``no_html``, ``label_nc``,
            ``display_winsize``. On processes other than rank 0 every method does nothing.
        counter: where the run (re)starts. TensorBoard drops steps logged after it (by a killed
            launch), so a resumed run continues its curves without duplicates; loss_log.txt gets a
            launch line that places this launch's loss lines at their iterations and epochs.
        images_per_epoch: training images in one epoch at this launch's batch size.
    """

    def __init__(self, opt, counter, images_per_epoch: int):
        self.opt = opt
        self.folder = Path(opt.checkpoints_dir) / opt.name
        self.log_path = self.folder / "loss_log.txt"
        self.web_dir = self.folder / "web"
        self.writer = None
        self.active = is_main(opt)
        if not self.active:
            return
        if opt.tf_log:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(self.folder / "logs"), purge_step=counter.iterations + 1)
        self.images_per_epoch = images_per_epoch
        with open(self.log_path, "a") as log:
            log.write(f"================ Training Loss ({time.strftime('%c')}) ================\n")
            log.write(launch_line(counter, opt.batchSize, images_per_epoch) + "\n")

    def print_losses(self, epoch: int, epoch_images: int, losses: dict, seconds_per_image: float, step: int,
                     learning_rates: dict, images_per_second: float) -> None:
        """One reference-format loss line to the console and loss_log.txt, and the scalars to TensorBoard."""
        if not self.active:
            return
        values = {name: float(value) for name, value in losses.items()}
        line = f"(epoch: {epoch}, iters: {epoch_images}, time: {seconds_per_image:.3f}) "
        line += "".join(f"{name}: {value:.3f} " for name, value in values.items())
        tqdm.write(line)
        with open(self.log_path, "a") as log:
            log.write(line + "\n")
        if self.writer is not None:
            for name, value in values.items():
                self.writer.add_scalar(f"loss/{name}", value, step)
            for name, value in learning_rates.items():
                self.writer.add_scalar(f"lr/{name}", value, step)
            self.writer.add_scalar("progress/epoch", epoch - 1 + epoch_images / self.images_per_epoch, step)
            self.writer.add_scalar("speed/images_per_s", images_per_second, step)

    def log_scalar(self, tag: str, value: float, step: int) -> None:
        if self.writer is not None:
            self.writer.add_scalar(tag, value, step)

    def display(self, epoch: int, epoch_images: int, label, fake, real, step: int) -> None:
        """Save the first sample's label / synthesized / real pictures to web/ and a grid to TensorBoard."""
        if not self.active:
            return
        pictures = {"input_label": colorize_label(label[0], self.opt.label_nc + 2),
                    "synthesized_image": tensor_to_image(fake[0]), "real_image": tensor_to_image(real[0])}
        if not self.opt.no_html:
            images = self.web_dir / "images"
            images.mkdir(parents=True, exist_ok=True)
            for kind, array in pictures.items():
                Image.fromarray(array).save(images / f"epoch{epoch:03d}_iter{epoch_images:03d}_{kind}.png")
            self.write_web_page()
        if self.writer is not None:
            grid = np.concatenate([pictures[kind] for kind in VISUAL_LABELS], axis=1)
            self.writer.add_image("samples/input_label|synthesized|real", torch.from_numpy(grid).permute(2, 0, 1),
                                  step)

    def write_web_page(self) -> None:
        """web/index.html: one row per display step, newest first, built from the pictures that exist."""
        steps = {}
        for path in (self.web_dir / "images").glob("epoch*_iter*_*.png"):
            match = PICTURE_NAME.fullmatch(path.name)
            if match and match.group(3) in VISUAL_LABELS:
                steps.setdefault((int(match.group(1)), int(match.group(2))), {})[match.group(3)] = path.name
        page = HTMLPage(self.web_dir, f"Experiment name = {self.opt.name}", refresh=5)
        for (epoch, images), files in sorted(steps.items(), reverse=True):
            page.add_header(f"epoch [{epoch}], iters [{images}]")
            page.add_images([(f"images/{files[kind]}", kind) for kind in VISUAL_LABELS if kind in files],
                            self.opt.display_winsize)
        page.save()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def launch_line(counter, batch_size: int, images_per_epoch: int) -> str:
    """Where a launch starts and its epoch geometry; loss lines after it are placed exactly (util/loss_log.py).

    Reference tools skip it: it does not start with ``(epoch:``.
    """
    return (f"(launch at epoch: {counter.epoch}, iters: {counter.epoch_images}, iteration: {counter.iterations}; "
            f"batchSize: {batch_size}, images per epoch: {images_per_epoch})")
