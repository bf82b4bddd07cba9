"""The SEAN style codes of the strip's dataset images: the ones ``test.py --save_style_codes`` wrote, else
encoded from the photo by the run's style encoder.

Saved codes live in ``[results_dir]/[name]/[phase]_[which_epoch]/style_codes/<photo file name>/``;
classes without a code of their image fall back to the per-class mean codes that
``scripts/mean_style_codes.py`` writes beside them, else to zeros (what the encoder gives an absent class).
"""
from functools import lru_cache
from pathlib import Path

import torch

from util.style_codes import MEAN_FOLDER, image_codes_folder, load_codes_folder


class SampleStyleCodes:
    """Per-class codes of dataset images, read or encoded once each.

    Args:
        opt: the resolved options; reads ``results_dir``, ``name``, ``phase``, ``which_epoch``, ``style_length``.
        model: the run's ``Pix2PixModel`` (its encoder turns a photo into codes).
        samples: the ``DatasetLabels`` of the strip.
        classes: the number of classes that own a code.
    """

    def __init__(self, opt, model, samples, classes: int):
        self.model, self.samples, self.classes, self.length = model, samples, classes, opt.style_length
        self.results = Path(opt.results_dir) / opt.name / f"{opt.phase}_{opt.which_epoch}"
        self.codes = lru_cache(maxsize=None)(self._codes)
        self.fallback = self._mean_codes()

    def _codes(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(codes [classes, length], present [classes]) of strip image ``index``."""
        sample = self.samples.sample(index)
        saved = image_codes_folder(self.results, Path(sample["path"]).name)
        if saved.is_dir():
            return load_codes_folder(saved, self.classes, self.length)
        codes, present = self.model.style_codes(self.samples.batch(index))
        return codes[0].cpu(), present[0].cpu()

    def _mean_codes(self) -> torch.Tensor:
        folder = self.results / MEAN_FOLDER
        if folder.is_dir():
            return load_codes_folder(folder, self.classes, self.length)[0]
        return torch.zeros(self.classes, self.length)

    def combined(self, sources: list[int]) -> torch.Tensor:
        """Codes [classes, length] with class j's taken from strip image ``sources[j]`` (its fallback where that
        image has no code of class j)."""
        codes = self.fallback.clone()
        for j, index in enumerate(sources):
            image_codes, present = self.codes(index)
            if present[j]:
                codes[j] = image_codes[j]
        return codes
