"""Label maps sent to the editor's server: PNG files of class ids, checked before the model sees them.

A rejected label raises ``RejectedRequest`` with the HTTP status and the sentence the page shows.
"""
import io
import warnings

import numpy as np
from PIL import Image

from data.pix2pix_dataset import DONTCARE, ID_MAP_MODES
from editor.rejection import RejectedRequest

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def decode_label_png(payload: bytes, size: tuple[int, int], label_nc: int, dontcare: bool) -> np.ndarray:
    """The H×W class ids of a PNG label map, with the dontcare id 255 mapped to ``label_nc`` as the dataset does.

    Args:
        payload: the bytes of the file.
        size: (width, height) the run generates.
        label_nc: the number of classes, dontcare excluded.
        dontcare: whether the run has a dontcare class (``--contain_dontcare_label``).
    """
    if not payload.startswith(PNG_SIGNATURE):
        raise RejectedRequest(415, "the label is not a PNG file; send the label map as a single-channel PNG of "
                                   "class ids.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture = Image.open(io.BytesIO(payload))
    except (OSError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        raise RejectedRequest(400, f"the label PNG cannot be read ({error}); send an intact PNG file.")
    if picture.size != tuple(size):
        raise RejectedRequest(422, f"the label PNG is {picture.width}×{picture.height} pixels but this run generates "
                                 f"{size[0]}×{size[1]}; send a label map of that size.")
    if picture.mode not in ID_MAP_MODES:
        raise RejectedRequest(422, f"the label PNG is a colour image ({picture.mode}); send a single-channel PNG whose "
                                 f"values are class ids, like the labels/ folder of a dataset.")
    try:
        ids = np.asarray(picture).astype(np.int64)
    except (OSError, ValueError) as error:
        raise RejectedRequest(400, f"the label PNG cannot be decoded ({error}); send an intact PNG file.")
    if dontcare:
        ids[ids == DONTCARE] = label_nc
    largest = label_nc if dontcare else label_nc - 1
    if ids.max() > largest:
        raise RejectedRequest(422, f"the label PNG holds class id {int(ids.max())} but this run has {label_nc} classes "
                                 f"(ids 0 to {label_nc - 1}{', and 255 for dontcare' if dontcare else ''}); "
                                 f"paint only the run's classes.")
    return ids.astype(np.uint8)


def encode_picture_png(picture: np.ndarray) -> bytes:
    """An H×W×3 uint8 picture as PNG bytes (lossless, so the page sees exactly what the model made)."""
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
