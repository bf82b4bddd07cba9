"""Label maps of the run's dataset that the editor offers as starting points (the thumbnail strip)."""
import io
from functools import lru_cache

import numpy as np
from PIL import Image
from torch.utils.data import default_collate

import data
from editor.rejection import RejectedRequest
from util.errors import UserError

THUMBNAIL_SIDE = 64


class DatasetLabels:
    """The first ``--how_many`` label maps of the dataset the flags (or the run's saved options) name.

    A dataset that cannot be opened leaves the strip empty and says why in ``note``; the editor
    still starts, with blank canvases.

    Args:
        opt: the resolved options; reads the dataset flags and ``how_many``.
        size: (width, height) the generator takes; labels of another size are resized (nearest).
        colours: RGB colour of each class id, for the thumbnails.
    """

    def __init__(self, opt, size: tuple[int, int], colours: np.ndarray):
        self.size, self.colours = size, colours
        try:
            self.dataset = data.create_dataset(opt)
            self.count = int(min(len(self.dataset), opt.how_many))
            self.note = ""
        except UserError as error:
            self.dataset, self.count = None, 0
            self.note = f"no dataset labels to start from ({error})"
        self.ids = lru_cache(maxsize=None)(self._load_ids)

    def sample(self, index: int) -> dict:
        """Sample ``index`` of the strip as the dataset gives it (label, instance, photo, path)."""
        if not 0 <= index < self.count:
            raise RejectedRequest(404, f"there is no dataset label {index}; the strip holds labels 0 to "
                                       f"{self.count - 1}.")
        try:
            return self.dataset[index]
        except UserError as error:
            raise RejectedRequest(500, f"dataset sample {index} cannot be loaded: {error}")

    def batch(self, index: int) -> dict:
        """Sample ``index`` as a one-sample batch."""
        return default_collate([self.sample(index)])

    def _load_ids(self, index: int) -> np.ndarray:
        label = self.sample(index)["label"][0].numpy().astype(np.uint8)
        if label.shape != self.size[::-1]:
            label = np.asarray(Image.fromarray(label).resize(self.size, Image.NEAREST))
        return label

    def thumbnail_png(self, index: int) -> bytes:
        """The label in its class colours, at most ``THUMBNAIL_SIDE`` pixels on its long side."""
        picture = Image.fromarray(self.colours[self.ids(index)])
        picture.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.NEAREST)
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG")
        return buffer.getvalue()
