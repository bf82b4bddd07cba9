"""The segmenters that score generated pictures, one per dataset as the papers use them, and the toy one.

Each ``SegmenterSpec`` says how the network sees a picture (size, normalisation) and which
dataset label each of its output classes is. ``load_segmenter`` builds the network, loads its
official weight file strictly and returns a ``Segmenter`` that maps pictures to dataset labels.
"""
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from models.segmenters import bisenet, deeplabv2, drn, face_parsing_unet, toy, upernet
from util.celebamaskhq import CLASS_NAMES as CELEBAMASKHQ_CLASSES
from util.errors import UserError

IGNORED = 255  # a segmenter class the dataset does not have: a miss wherever it is predicted
LABEL_IDS = 256  # label maps are 8-bit


@dataclass(frozen=True)
class SegmenterSpec:
    """How one segmenter is built, fed and read.

    Attributes:
        name: the ``--segmenter`` value.
        dataset: the dataset whose labels it predicts (for the README and messages).
        builder: the network's class; ``builder()`` is the network with random weights.
        weights_file: the official weight file's name; with ``parts``, the folder that holds them.
        parts: (submodule, file name) pairs for a release split into several files, read from the
            folder ``--seg_weights`` names; empty for a single file.
        weights_source: where that file comes from (one phrase).
        class_to_label: dataset label id of each output class (``IGNORED`` where the dataset has none).
        class_names: names of the dataset labels it is scored on (those in ``class_to_label``), by increasing label id.
        input_size: (height, width) the picture is resized to before the network; None keeps it.
        resize_mode: how (``bilinear`` or ``nearest``, as the segmenter's own test code resizes).
        mean, std: per-channel normalisation of the [0, 1] RGB picture.
        bgr_255: feed BGR channels in 0..255 minus ``mean`` (Caffe-trained networks); ``std`` unused.
    """

    name: str
    dataset: str
    builder: type
    weights_file: str
    weights_source: str
    class_to_label: tuple
    class_names: tuple | None = None
    parts: tuple = ()
    input_size: tuple | None = None
    resize_mode: str = "bilinear"
    mean: tuple = (0.485, 0.456, 0.406)
    std: tuple = (0.229, 0.224, 0.225)
    bgr_255: bool = False

    def build(self) -> nn.Module:
        return self.builder()


class Segmenter:
    """A segmentation network with its protocol: pictures in [-1, 1] → dataset label ids.

    Args:
        spec (SegmenterSpec): the protocol.
        network (nn.Module): the network with its weights loaded.
        device (str or torch.device): where it runs.
    """

    def __init__(self, spec: SegmenterSpec, network: nn.Module, device="cpu"):
        self.spec = spec
        self.network = network.eval().to(device)
        self.device = device
        self.label_of_class = torch.tensor(spec.class_to_label, dtype=torch.long, device=device)
        self.evaluated_labels = sorted(set(spec.class_to_label) - {IGNORED})
        self.index_of_label = torch.full((LABEL_IDS,), -1, dtype=torch.long)
        self.index_of_label[self.evaluated_labels] = torch.arange(len(self.evaluated_labels))

    def network_input(self, pictures: torch.Tensor) -> torch.Tensor:
        """Pictures in [-1, 1] (N×3×H×W) → the network's input: resized, normalised as the segmenter was trained."""
        spec = self.spec
        x = (pictures.to(self.device, torch.float32) + 1) / 2
        if spec.input_size is not None and tuple(x.shape[2:]) != tuple(spec.input_size):
            aligned = {"align_corners": False} if spec.resize_mode == "bilinear" else {}
            x = F.interpolate(x, size=spec.input_size, mode=spec.resize_mode, **aligned)
        mean = torch.tensor(spec.mean, device=x.device).view(1, 3, 1, 1)
        if spec.bgr_255:
            return x.flip(1) * 255 - mean
        return (x - mean) / torch.tensor(spec.std, device=x.device).view(1, 3, 1, 1)

    @torch.no_grad()
    def predict(self, pictures: torch.Tensor, label_size: tuple) -> torch.Tensor:
        """Dataset label ids (N×H×W, long) of the pictures at the label maps' size.

        The class scores are resized (bilinear) to ``label_size``, never the label maps.

        Args:
            pictures (torch.Tensor): N×3×H×W in [-1, 1].
            label_size (tuple): (height, width) of the label maps they are compared with.
        """
        scores = self.network(self.network_input(pictures))
        if tuple(scores.shape[2:]) != tuple(label_size):
            scores = F.interpolate(scores.float(), size=label_size, mode="bilinear", align_corners=False)
        return self.label_of_class[scores.argmax(1)]

    def evaluation_index(self, labels: torch.Tensor) -> torch.Tensor:
        """Dataset label ids → index among ``evaluated_labels``, -1 for labels not scored (ignored in ground truth,
        a miss in predictions)."""
        labels = labels.long().cpu()
        inside = (labels >= 0) & (labels < LABEL_IDS)
        return torch.where(inside, self.index_of_label[labels.clamp(0, LABEL_IDS - 1)], -1)


def toy_spec(num_classes: int) -> SegmenterSpec:
    names = CELEBAMASKHQ_CLASSES if num_classes == len(CELEBAMASKHQ_CLASSES) else None  # the demo faces' classes
    return SegmenterSpec(name="toy", dataset="the demo faces (scripts/make_demo_dataset.py)", class_names=names,
                         builder=toy.ToySegmenter, weights_file="toy_segmenter.pth",
                         weights_source="scripts/train_segmenter.py --out PATH",
                         class_to_label=tuple(range(num_classes)), mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))


SEGMENTERS = {spec.name: spec for spec in (
    SegmenterSpec(
        name="celebamaskhq_unet", dataset="CelebAMask-HQ", builder=face_parsing_unet.FaceParsingUNet,
        weights_file="model.pth",
        weights_source="the CelebAMask-HQ authors' face-parsing model (switchablenorms/CelebAMask-HQ, face_parsing/"
                       "README: drive.google.com/file/d/1o1m-eT38zNCIFldcRaoWcLvvBtY8S4W3)",
        class_to_label=tuple(range(19)), class_names=CELEBAMASKHQ_CLASSES,
        input_size=(512, 512), resize_mode="nearest", mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
    SegmenterSpec(
        name="bisenet_face", dataset="CelebAMask-HQ", builder=bisenet.BiSeNetFaceParsing,
        weights_file="79999_iter.pth",
        weights_source="zllrunning/face-parsing.PyTorch's README (drive.google.com/open?id=154JgKpzCPW82qINcVieuPH3fZ2e0P812)",
        class_to_label=tuple(CELEBAMASKHQ_CLASSES.index(name) for name in bisenet.CLASS_NAMES),
        class_names=CELEBAMASKHQ_CLASSES, input_size=(512, 512)),
    SegmenterSpec(
        name="drn_d_105", dataset="Cityscapes", builder=drn.DRNSeg,
        weights_file="drn-d-105_ms_cityscapes.pth",
        weights_source="fyu/drn's README, Cityscapes models (http://go.yf.io/drn-cityscapes-models)",
        class_to_label=drn.CITYSCAPES_LABEL_OF_TRAIN_ID, class_names=drn.CITYSCAPES_CLASS_NAMES,
        mean=drn.CITYSCAPES_MEAN, std=drn.CITYSCAPES_STD),
    SegmenterSpec(
        name="upernet101_ade20k", dataset="ADE20K", builder=upernet.UperNet101,
        weights_file="baseline-resnet101-upernet/", parts=(("encoder", "encoder_epoch_50.pth"),
                                                           ("decoder", "decoder_epoch_50.pth")),
        weights_source="http://sceneparsing.csail.mit.edu/model/pytorch/baseline-resnet101-upernet/ "
                       "(CSAILVision/semantic-segmentation-pytorch)",
        class_to_label=tuple(range(1, 151)), class_names=upernet.ADE20K_CLASS_NAMES),
    SegmenterSpec(
        name="deeplabv2_cocostuff", dataset="COCO-Stuff", builder=deeplabv2.DeepLabV2MSC,
        weights_file="deeplabv2_resnet101_msc-cocostuff164k-100000.pth",
        weights_source="https://github.com/kazuto1011/deeplab-pytorch/releases/download/v1.0/"
                       "deeplabv2_resnet101_msc-cocostuff164k-100000.pth",
        class_to_label=tuple(range(182)), class_names=deeplabv2.COCO_STUFF_CLASS_NAMES,
        mean=deeplabv2.CAFFE_MEAN_BGR, bgr_255=True),
)}
DEFAULT_SEGMENTER = {"celebamaskhq": "celebamaskhq_unet", "cityscapes": "drn_d_105", "ade20k": "upernet101_ade20k",
                     "ade20koutdoor": "upernet101_ade20k", "coco": "deeplabv2_cocostuff"}  # --dataset_mode -> the segmenter its papers use
SEGMENTER_NAMES = ("toy", *SEGMENTERS)


def check_weights_file(name: str, weights) -> Path:
    """The weight file a segmenter will load; a missing one stops here, before anything is loaded.

    Args:
        name (str): ``--segmenter``.
        weights (str or Path or None): ``--seg_weights``.
    """
    if name not in SEGMENTER_NAMES:
        raise UserError(f"--segmenter {name} is not known; use one of {', '.join(SEGMENTER_NAMES)}.")
    if name == "toy":
        if not weights:
            raise UserError("--segmenter toy needs --seg_weights PATH, a file written by "
                            "scripts/train_segmenter.py --out PATH.")
        source = "scripts/train_segmenter.py --out PATH"
    else:
        spec = SEGMENTERS[name]
        if not weights:
            raise UserError(f"--segmenter {name} needs its weights {spec.weights_file} ({spec.weights_source}); "
                            f"download it and pass --seg_weights PATH.")
        source = spec.weights_source
    path = Path(weights)
    parts = SEGMENTERS[name].parts if name in SEGMENTERS else ()
    if parts:
        missing = [file for _, file in parts if not (path / file).is_file()]
        if missing:
            raise UserError(f"segmenter weights {path / missing[0]} do not exist; --segmenter {name} needs the folder "
                            f"holding {' and '.join(file for _, file in parts)} from {source}: pass it as "
                            f"--seg_weights PATH.")
    elif not path.is_file():
        raise UserError(f"segmenter weights {path} do not exist; get them from {source} and pass --seg_weights PATH.")
    return path


def load_segmenter(name: str, weights, device="cpu") -> Segmenter:
    """The named segmenter with its weight file loaded strictly.

    Args:
        name (str): ``--segmenter``.
        weights (str or Path): ``--seg_weights``.
        device (str or torch.device): where it runs.
    """
    path = check_weights_file(name, weights)
    parts = SEGMENTERS[name].parts if name in SEGMENTERS else ()
    checkpoint = (_read_weights(path) if not parts else
                  {f"{prefix}.{key}": value for prefix, file in parts
                   for key, value in official_state_dict(_read_weights(path / file)).items()})
    if name == "toy":
        try:
            network = toy.ToySegmenter.from_checkpoint(checkpoint)
        except (ValueError, KeyError, RuntimeError) as error:
            raise UserError(f"{path} is not a toy segmenter file ({error}); write one with "
                            f"scripts/train_segmenter.py --out PATH.") from None
        return Segmenter(toy_spec(network.num_classes), network, device)
    spec = SEGMENTERS[name]
    with torch.device("meta"):  # no time spent initialising weights that the file replaces
        network = spec.build()
    state = official_state_dict(checkpoint)
    mismatch = state_dict_mismatch(network, state)
    if mismatch:
        raise UserError(f"{path} does not hold the weights of --segmenter {name} ({mismatch}); use "
                        f"{spec.weights_file} from {spec.weights_source}.")
    network.load_state_dict(state, strict=True, assign=True)
    return Segmenter(spec, network, device)


def state_dict_mismatch(network: nn.Module, state) -> str:
    """How a loaded object differs from the network's state_dict, in a phrase; "" when it fits exactly."""
    if not isinstance(state, dict) or not all(isinstance(value, torch.Tensor) for value in state.values()):
        return "not a state_dict of tensors"
    expected = network.state_dict()
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    reshaped = [key for key in expected if key in state and state[key].shape != expected[key].shape]
    parts = [f"{len(keys)} {what} keys, e.g. {keys[0]}" for what, keys in
             (("missing", missing), ("unexpected", unexpected), ("differently shaped", reshaped)) if keys]
    return "; ".join(parts)


def _read_weights(path: Path):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch.load raises many kinds on a damaged file
        raise UserError(f"segmenter weights {path} cannot be read ({error}); replace the file.") from None


def official_state_dict(checkpoint):
    """The state_dict inside an official weight file (some wrap it in a dict, some in DataParallel's ``module.``)."""
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get("state_dict"), dict):
        checkpoint = checkpoint["state_dict"]
    if isinstance(checkpoint, dict) and checkpoint and all(key.startswith("module.") for key in checkpoint):
        checkpoint = {key[len("module."):]: value for key, value in checkpoint.items()}
    return checkpoint


