"""CLADE-ICPE positional maps: each pixel's offset to the centroid of its part (docs/reference.md §2.4)."""

import numpy as np

# Diagonal neighbours join a component, as in OpenCV's connectedComponentsWithStats used by CLADE.
EIGHT_CONNECTIVITY = np.ones((3, 3), dtype=bool)

# Added to each component's largest offset before dividing, as CLADE's cal_dist_masks.py does.
NORMALIZATION_EPSILON = 1e-5


def positional_offsets(label: np.ndarray, normalize: bool = True) -> np.ndarray:
    """Offset of every pixel to the centroid of its connected component, per channel.

    Every class id other than 0 is split into 8-connected components; a pixel's offset is
    (row − centroid row, column − centroid column), the centroid being the mean pixel
    coordinate of its component. Background (0) pixels get zeros.

    Args:
        label: H×W integer array of class ids.
        normalize: divide each component's row offsets by (its largest |row offset| + 1e-5)
            and its column offsets likewise (CLADE's default), giving values in (−1, 1);
            False keeps raw offsets in pixels (CLADE's `--norm no`).

    Returns:
        float32 array [2, H, W]: channel 0 the row (height) offset, channel 1 the column
        (width) offset.
    """
    label = np.asarray(label)
    if label.ndim != 2 or label.dtype.kind not in "ui" or (label.size and label.min() < 0):
        raise ValueError(
            "label must be a 2-D map of non-negative integer class ids, "
            f"got shape {label.shape} and dtype {label.dtype}"
        )
    components, component_count = label_components(label)
    rows, cols = np.indices(label.shape, dtype=np.float64)
    offsets = np.stack([
        _offsets_to_centroid(rows, components, component_count),
        _offsets_to_centroid(cols, components, component_count),
    ])
    if normalize:
        for channel in offsets:
            channel /= _largest_magnitude_per_pixel(channel, components, component_count)
    return offsets.astype(np.float32)


def label_components(label: np.ndarray) -> tuple[np.ndarray, int]:
    """Numbers the 8-connected components of all non-zero classes together.

    Args:
        label: H×W integer array of class ids.

    Returns:
        (components, count): an H×W int32 array with 0 on background and 1..count on the
        components (two touching regions of different classes are different components),
        and the number of components.
    """
    from scipy import ndimage  # only --add_dist runs need it; it takes half a second to import

    components = np.zeros(label.shape, dtype=np.int32)
    count = 0
    # Box i bounds class id i + 1 (None where absent), so each class is labelled only where it
    # occurs; find_objects skips background 0 by itself.
    for class_id, box in enumerate(ndimage.find_objects(label), start=1):
        if box is None:
            continue
        in_class = label[box] == class_id
        class_components, class_count = ndimage.label(in_class, structure=EIGHT_CONNECTIVITY)
        components[box][in_class] = class_components[in_class] + count
        count += class_count
    return components, count


def _offsets_to_centroid(coordinates: np.ndarray, components: np.ndarray, count: int) -> np.ndarray:
    """coordinate − mean coordinate of the pixel's component; 0 on background."""
    flat_components = components.ravel()
    pixel_counts = np.bincount(flat_components, minlength=count + 1)
    sums = np.bincount(flat_components, weights=coordinates.ravel(), minlength=count + 1)
    centroids = sums / np.maximum(pixel_counts, 1)
    offsets = coordinates - centroids[components]
    offsets[components == 0] = 0.0
    return offsets


def _largest_magnitude_per_pixel(offsets: np.ndarray, components: np.ndarray, count: int) -> np.ndarray:
    """Each pixel's component's largest |offset| + epsilon (epsilon alone on background)."""
    largest = np.zeros(count + 1)
    np.maximum.at(largest, components.ravel(), np.abs(offsets).ravel())
    return largest[components] + NORMALIZATION_EPSILON


def flip_offsets_horizontally(offsets):
    """The positional map of the left-right mirrored label map.

    Mirrors the width axis and negates the column offsets (channel 1). CLADE flips the
    height axis and keeps the sign instead (docs/reference.md §12.3); this is the correct version.

    Args:
        offsets: numpy array or torch tensor [..., 2, H, W] from positional_offsets.

    Returns:
        A new array or tensor of the same type and shape.
    """
    if isinstance(offsets, np.ndarray):
        flipped = np.flip(offsets, axis=-1).copy()
    else:  # a torch tensor, whose flip copies; torch is not imported here to keep scripts light
        flipped = offsets.flip(-1)
    flipped[..., 1, :, :] *= -1
    return flipped
