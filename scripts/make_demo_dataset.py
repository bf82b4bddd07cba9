"""Writes a small synthetic face dataset in CelebAMask-HQ's custom layout, to try training on a CPU.

    python scripts/make_demo_dataset.py            # datasets/demo, 64 train + 8 test at 64×64

writes <out>/{train,test}/images/<NNNNN>.jpg, labels/<NNNNN>.png (8-bit class ids 0..18 of
util.celebamaskhq.CLASS_NAMES) and vis/<NNNNN>.png (colour previews). Every sample draws a
face with random position, size, tilt and optional parts (hat, glasses, earrings, necklace,
open mouth); the photo gives each class its own colour and texture, shading and mild JPEG
artefacts, so a generator has to follow the label map to reproduce it. The same --seed
always gives the same files.
"""

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from tqdm import tqdm  # noqa: E402

from util.celebamaskhq import CLASS_NAMES, colorize  # noqa: E402
from util.errors import UserError, exits_on_user_error  # noqa: E402
from util.files import check_writable_folder  # noqa: E402

CLASS_ID = {name: class_id for class_id, name in enumerate(CLASS_NAMES)}
PHASES = ("train", "test")
SMALLEST_SIZE = 16
JPEG_QUALITY = 90

SKIN_TONES = [(236, 192, 164), (214, 160, 124), (176, 118, 84), (128, 82, 56), (250, 214, 186)]
HAIR_COLOURS = [(34, 24, 18), (92, 58, 34), (196, 156, 92), (128, 48, 24), (70, 70, 74)]


@dataclass
class Face:
    """Random layout of one sample, in image coordinates scaled to [0, 1]."""

    center: tuple[float, float]  # (x, y) of the face ellipse
    half_width: float
    half_height: float
    tilt: float  # radians
    hair_scale: tuple[float, float]
    fringe: float  # how far the hair reaches down the forehead, in face units
    long_hair: bool
    hat: bool
    glasses: bool
    earrings: bool
    necklace: bool
    mouth_opening: float  # 0 = closed


def random_face(rng: np.random.Generator) -> Face:
    """Draws the layout of one sample.

    Args:
        rng: the sample's random generator.
    """
    half_width = rng.uniform(0.16, 0.22)
    return Face(
        center=(rng.uniform(0.42, 0.58), rng.uniform(0.38, 0.48)),
        half_width=half_width,
        half_height=half_width * rng.uniform(1.2, 1.45),
        tilt=rng.uniform(-0.2, 0.2),
        hair_scale=(rng.uniform(1.15, 1.35), rng.uniform(1.1, 1.25)),
        fringe=rng.uniform(-0.75, -0.45),
        long_hair=rng.random() < 0.4,
        hat=rng.random() < 0.2,
        glasses=rng.random() < 0.25,
        earrings=rng.random() < 0.25,
        necklace=rng.random() < 0.2,
        mouth_opening=rng.uniform(0.3, 1.0) if rng.random() < 0.4 else 0.0,
    )


def _pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of each pixel centre in [0, 1]."""
    coordinates = (np.arange(size) + 0.5) / size
    return np.meshgrid(coordinates, coordinates)


def _face_coordinates(face: Face, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates in the tilted face frame: the face ellipse is the unit circle."""
    dx, dy = x - face.center[0], y - face.center[1]
    cos, sin = np.cos(face.tilt), np.sin(face.tilt)
    return (cos * dx + sin * dy) / face.half_width, (-sin * dx + cos * dy) / face.half_height


def _ellipse(x, y, center, radii) -> np.ndarray:
    return ((x - center[0]) / radii[0]) ** 2 + ((y - center[1]) / radii[1]) ** 2 < 1


def draw_label(face: Face, size: int) -> np.ndarray:
    """The size×size class-id map of a face; later parts are painted over earlier ones.

    Args:
        face: the layout from random_face.
        size: side in pixels.
    """
    x, y = _pixel_grid(size)
    fx, fy = _face_coordinates(face, x, y)
    label = np.zeros((size, size), dtype=np.uint8)

    def paint(name, region):
        label[region] = CLASS_ID[name]

    shoulder_y = face.center[1] + 1.3 * face.half_height
    hair = _ellipse(fx, fy, (0, -0.2), face.hair_scale)
    if face.long_hair:
        hair |= (np.abs(fx) < 1.15 * face.hair_scale[0]) & (fy > -0.2) & (y < shoulder_y + 0.08)
    paint("hair", hair)
    paint("neck", (np.abs(x - face.center[0]) < 0.5 * face.half_width) & (y > face.center[1]) & (y < shoulder_y + 0.05))
    if face.necklace:
        paint("neck_l", (label == CLASS_ID["neck"]) & (np.abs(y - shoulder_y + 0.03) < 0.015))
    paint("cloth", _ellipse(x, y, (face.center[0], shoulder_y + 0.4), (0.5, 0.4)))
    for side, ear in ((-1, "l_ear"), (1, "r_ear")):
        paint(ear, _ellipse(fx, fy, (side * 0.98, 0.05), (0.2, 0.3)))
    paint("skin", _ellipse(fx, fy, (0, 0), (1, 1)))
    paint("hair", hair & _ellipse(fx, fy, (0, 0), (1, 1)) & (fy < face.fringe + 0.1 * np.sin(9 * fx)))
    if face.hat:
        paint("hat", _ellipse(fx, fy, (0, -0.75), (1.45, 0.55)) & (fy < -0.55))
    if face.earrings:
        for side in (-1, 1):
            paint("ear_r", _ellipse(fx, fy, (side * 1.02, 0.42), (0.09, 0.07)))
    for side, brow in ((-1, "l_brow"), (1, "r_brow")):
        paint(brow, _ellipse(fx, fy, (side * 0.42, -0.34), (0.3, 0.07)))
    if face.glasses:
        for side in (-1, 1):
            paint("eye_g", _ellipse(fx, fy, (side * 0.42, -0.12), (0.34, 0.17)))
        paint("eye_g", (np.abs(fx) < 0.12) & (np.abs(fy + 0.14) < 0.03))
    for side, eye in ((-1, "l_eye"), (1, "r_eye")):
        paint(eye, _ellipse(fx, fy, (side * 0.42, -0.12), (0.22, 0.1)))
    paint("nose", _ellipse(fx, fy, (0, 0.18), (0.14, 0.22)))
    lip_radii = (0.38, 0.1 + 0.08 * face.mouth_opening)
    lips = _ellipse(fx, fy, (0, 0.58), lip_radii)
    paint("u_lip", lips & (fy < 0.58))
    paint("l_lip", lips & (fy >= 0.58))
    if face.mouth_opening:
        paint("mouth", _ellipse(fx, fy, (0, 0.58), (0.3, 0.07 * face.mouth_opening)))
    return label


def face_label_maps(count: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """``count`` demo face label maps [count, height, width] (uint8 class ids), drawn square and cropped to shape."""
    rng = np.random.default_rng(seed)
    side = max(height, width)
    maps = [draw_label(random_face(rng), side) for _ in range(count)]
    top, left = (side - height) // 2, (side - width) // 2
    return np.stack([m[top:top + height, left:left + width] for m in maps])


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Noise in [-1, 1] that varies over about size / cells pixels."""
    coarse = rng.uniform(-1, 1, (cells, cells))
    from scipy import ndimage

    return ndimage.zoom(coarse, size / cells, order=3, mode="nearest")[:size, :size].clip(-1, 1)


def class_colours(rng: np.random.Generator) -> np.ndarray:
    """RGB base colour of every class for one sample (19×3 floats in 0..255).

    Args:
        rng: the sample's random generator.
    """
    skin = np.array(SKIN_TONES[rng.integers(len(SKIN_TONES))], dtype=float) + rng.uniform(-8, 8, 3)
    hair = np.array(HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))], dtype=float)
    colours = np.zeros((len(CLASS_NAMES), 3))
    colours[CLASS_ID["background"]] = rng.uniform(60, 220, 3)
    colours[CLASS_ID["skin"]] = skin
    colours[CLASS_ID["nose"]] = skin * 0.9
    colours[CLASS_ID["eye_g"]] = (20, 20, 24) if rng.random() < 0.7 else (200, 160, 60)
    colours[[CLASS_ID["l_eye"], CLASS_ID["r_eye"]]] = rng.choice([(52, 36, 28), (48, 84, 128), (64, 96, 56)])
    colours[[CLASS_ID["l_brow"], CLASS_ID["r_brow"]]] = hair * 0.7
    colours[[CLASS_ID["l_ear"], CLASS_ID["r_ear"]]] = skin * 0.93
    colours[CLASS_ID["mouth"]] = (70, 22, 28)
    colours[CLASS_ID["u_lip"]] = (170, 64, 74)
    colours[CLASS_ID["l_lip"]] = (196, 84, 94)
    colours[CLASS_ID["hair"]] = hair
    colours[CLASS_ID["hat"]] = rng.uniform(30, 230, 3)
    colours[CLASS_ID["ear_r"]] = (236, 196, 70)
    colours[CLASS_ID["neck_l"]] = (214, 214, 224)
    colours[CLASS_ID["neck"]] = skin * 0.82
    colours[CLASS_ID["cloth"]] = rng.uniform(30, 230, 3)
    return colours


def class_textures(label: np.ndarray, face: Face, rng: np.random.Generator) -> np.ndarray:
    """Per-pixel brightness factor giving each class its own texture.

    Args:
        label: the sample's class-id map.
        face: its layout.
        rng: the sample's random generator.
    """
    size = label.shape[0]
    x, y = _pixel_grid(size)
    texture = 1 + 0.03 * rng.standard_normal(label.shape)
    angle_from_head = np.arctan2(y - face.center[1] + face.half_height, x - face.center[0])
    strands = 1 + 0.18 * np.sin(60 * angle_from_head + 2 * _smooth_noise(rng, size, 6))
    stripe_period = rng.uniform(0.05, 0.1)
    stripes = 1 + 0.2 * np.sign(np.sin(2 * np.pi * y / stripe_period))
    checks = 1 + 0.15 * np.sign(np.sin(40 * x) * np.sin(40 * y))
    mottled = 1 + 0.15 * _smooth_noise(rng, size, 5)
    for name, pattern in (("hair", strands), ("l_brow", strands), ("r_brow", strands),
                          ("cloth", stripes), ("hat", checks), ("background", mottled)):
        region = label == CLASS_ID[name]
        texture[region] *= pattern[region]
    return texture


def shading(face: Face, size: int, rng: np.random.Generator) -> np.ndarray:
    """Brightness factor: a light from one side, and a rounded face.

    Args:
        face: the sample's layout.
        size: side in pixels.
        rng: the sample's random generator.
    """
    x, y = _pixel_grid(size)
    light_angle = rng.uniform(0, 2 * np.pi)
    directional = 1 + 0.18 * (np.cos(light_angle) * (x - 0.5) + np.sin(light_angle) * (y - 0.5)) / 0.5
    fx, fy = _face_coordinates(face, x, y)
    roundness = np.sqrt(np.clip(1 - fx**2 - fy**2, 0, 1))
    return directional * (0.82 + 0.18 * roundness)


def render_photo(label: np.ndarray, face: Face, rng: np.random.Generator) -> np.ndarray:
    """An RGB photo matching a label map: class colour × texture × shading, slightly blurred.

    Args:
        label: the sample's class-id map.
        face: its layout.
        rng: the sample's random generator.

    Returns:
        H×W×3 uint8 image.
    """
    size = label.shape[0]
    brightness = class_textures(label, face, rng) * shading(face, size, rng)
    photo = class_colours(rng)[label] * brightness[..., None]
    from scipy import ndimage

    photo = ndimage.gaussian_filter(photo, sigma=(0.5, 0.5, 0))  # soft edges, as a lens gives
    return np.clip(photo + rng.normal(0, 2, photo.shape), 0, 255).astype(np.uint8)


def write_sample(out: Path, phase: str, name: str, seed: list[int], size: int) -> None:
    """Draws one sample and writes its photo, label and colour preview.

    Args:
        out: dataset folder holding {train,test}/{images,labels,vis}/.
        phase: 'train' or 'test'.
        name: file name without suffix.
        seed: entropy of the sample's own random generator.
        size: side in pixels.
    """
    rng = np.random.default_rng(seed)
    face = random_face(rng)
    label = draw_label(face, size)
    photo = render_photo(label, face, rng)
    Image.fromarray(photo).save(out / phase / "images" / f"{name}.jpg", quality=JPEG_QUALITY)
    Image.fromarray(label).save(out / phase / "labels" / f"{name}.png")
    Image.fromarray(colorize(label)).save(out / phase / "vis" / f"{name}.png")


def make_demo_dataset(out: Path, num_train: int, num_test: int, size: int, seed: int) -> None:
    """Writes the whole dataset; sample i of a phase depends only on (seed, phase, i).

    Args:
        out: output folder.
        num_train: number of training samples.
        num_test: number of test samples.
        size: side of images and labels in pixels.
        seed: random seed.
    """
    if size < SMALLEST_SIZE:
        raise UserError(f"--size {size} is too small to draw the face parts; pass --size {SMALLEST_SIZE} or more")
    if num_train < 1 or num_test < 1:
        raise UserError(f"--num_train {num_train} and --num_test {num_test} must both be at least 1")
    jobs = [("train", index, index) for index in range(num_train)]
    jobs += [("test", index, num_train + index) for index in range(num_test)]
    for phase in PHASES:
        for kind in ("images", "labels", "vis"):
            (out / phase / kind).mkdir(parents=True, exist_ok=True)
    for phase, index, file_number in tqdm(jobs, desc="demo dataset", unit="sample"):
        write_sample(out, phase, f"{file_number:05d}", [seed, PHASES.index(phase), index], size)


@exits_on_user_error
def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("datasets/demo"), help="output folder")
    parser.add_argument("--num_train", type=int, default=64, help="number of training samples")
    parser.add_argument("--num_test", type=int, default=8, help="number of test samples")
    parser.add_argument("--size", type=int, default=64, help="side of images and labels in pixels")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    args = parser.parse_args(argv)
    check_writable_folder(args.out, f"--out {args.out}")
    make_demo_dataset(args.out, args.num_train, args.num_test, args.size, args.seed)
    print(f"wrote {args.num_train} train and {args.num_test} test samples ({args.size}×{args.size}) to {args.out}/")


if __name__ == "__main__":
    main()
