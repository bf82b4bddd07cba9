"""The trained generator behind the editor, run by one worker thread so that requests queue instead of racing."""
import time
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import torch

from data.positional_offsets import positional_offsets
from models.networks.generator import UPSAMPLINGS, latent_size
from models.pix2pix_model import Pix2PixModel
from util.checkpoint import load_network
from util.visuals import tensor_to_image

# SEAN's norms add random noise at test time too: every picture draws it from this seed, so that a
# stroke changes only what the new label changes and the same request gives the same picture
NOISE_SEED = 0


def canvas_size(opt) -> tuple[int, int]:
    """(width, height) of the label maps the generator takes and the pictures it makes."""
    sw, sh = latent_size(opt)
    factor = 2 ** UPSAMPLINGS[opt.num_upsampling_layers]
    return sw * factor, sh * factor


def load_model(opt) -> Pix2PixModel:
    """The run's model in eval mode, its generator the averaged one under ``--use_ema``."""
    model = Pix2PixModel(opt).to(opt.device).eval()
    if opt.use_ema:
        load_network(model.netG, "G_ema", opt.which_epoch, opt)
    return model


class GeneratorEngine:
    """Generates pictures with a loaded model (``load_model``) on one worker thread.

    Args:
        opt: the resolved options of the run.
        model: the run's model.
        style: the run's style kind (``editor.styles.style_for``); it runs on the worker thread too.
    """

    def __init__(self, opt, model, style):
        self.opt, self.model, self.style = opt, model, style
        self.size = canvas_size(opt)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="generator")
        self.pictures_made, self.seconds_spent = 0, 0.0

    def submit(self, ids: np.ndarray, query: dict) -> Future:
        """Queue a picture for the H×W class ids; the future gives (H×W×3 uint8 picture, seconds it took)."""
        return self._worker.submit(self._generate, ids, query)

    @torch.no_grad()
    def _generate(self, ids: np.ndarray, query: dict) -> tuple[np.ndarray, float]:
        start = time.perf_counter()
        semantics, _, dist = self.model.preprocess_input(self.batch(ids))
        inputs = {"seg": semantics, **self.style.generator_inputs(query)}
        if dist is not None:
            inputs["input_dist"] = dist
        with torch.random.fork_rng(devices=[self.opt.device] if self.opt.device.startswith("cuda") else []):
            torch.manual_seed(NOISE_SEED)
            with self.model.autocast():
                picture = self.model.netG(**inputs)
        seconds = time.perf_counter() - start
        self.pictures_made, self.seconds_spent = self.pictures_made + 1, self.seconds_spent + seconds
        return tensor_to_image(picture[0].float()), seconds

    def batch(self, ids: np.ndarray) -> dict:
        """A one-sample batch as the dataset gives it. A painted map has no instance map: each class region
        is one instance, so instance edges fall on class borders; the positional map is computed from the ids."""
        label = torch.from_numpy(ids.astype(np.int64))[None, None]
        height, width = ids.shape
        batch = {"label": label, "instance": label.clone(), "image": torch.zeros(1, self.opt.output_nc, height, width)}
        if self.opt.add_dist:
            batch["dist"] = torch.from_numpy(positional_offsets(ids))[None]
        return batch

    def close(self) -> None:
        self._worker.shutdown(wait=True, cancel_futures=True)
