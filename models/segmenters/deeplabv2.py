"""DeepLab v2 (ResNet-101, ASPP, multi-scale max) for COCO-Stuff (kazuto1011/deeplab-pytorch), SPADE's COCO segmenter.

The weights ``deeplabv2_resnet101_msc-cocostuff164k-100000.pth`` are a Caffe-style ResNet-101
(stride in the first 1×1 convolution, max pooling with ceil mode, output stride 8 through
dilation 2 and 4), four dilated 3×3 classifiers summed (ASPP), and, at test time, the pixel-wise
maximum of the scores at scales 1, 0.5 and 0.75. Inputs are BGR in 0..255 minus the Caffe means.
Parameter names follow the repository's ``MSC(DeepLabV2)`` (``base.layer1…``, ``base.aspp``).
The 182 outputs are COCO-Stuff's label ids 0..181.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

# COCO-Stuff-164k's 182 classes, label ids 0..181 (the repository's data/datasets/cocostuff/labels.txt)
COCO_STUFF_CLASS_NAMES = (
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat', 'traffic light',
    'fire hydrant', 'street sign', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep',
    'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'hat', 'backpack', 'umbrella', 'shoe', 'eye glasses', 'handbag',
    'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove',
    'skateboard', 'surfboard', 'tennis racket', 'bottle', 'plate', 'wine glass', 'cup', 'fork', 'knife', 'spoon',
    'bowl', 'banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake',
    'chair', 'couch', 'potted plant', 'bed', 'mirror', 'dining table', 'window', 'desk', 'toilet', 'door', 'tv',
    'laptop', 'mouse', 'remote', 'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink', 'refrigerator',
    'blender', 'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier', 'toothbrush', 'hair brush',
    'banner', 'blanket', 'branch', 'bridge', 'building-other', 'bush', 'cabinet', 'cage', 'cardboard', 'carpet',
    'ceiling-other', 'ceiling-tile', 'cloth', 'clothes', 'clouds', 'counter', 'cupboard', 'curtain', 'desk-stuff',
    'dirt', 'door-stuff', 'fence', 'floor-marble', 'floor-other', 'floor-stone', 'floor-tile', 'floor-wood',
    'flower', 'fog', 'food-other', 'fruit', 'furniture-other', 'grass', 'gravel', 'ground-other', 'hill', 'house',
    'leaves', 'light', 'mat', 'metal', 'mirror-stuff', 'moss', 'mountain', 'mud', 'napkin', 'net', 'paper',
    'pavement', 'pillow', 'plant-other', 'plastic', 'platform', 'playingfield', 'railing', 'railroad', 'river',
    'road', 'rock', 'roof', 'rug', 'salad', 'sand', 'sea', 'shelf', 'sky-other', 'skyscraper', 'snow',
    'solid-other', 'stairs', 'stone', 'straw', 'structural-other', 'table', 'tent', 'textile-other', 'towel',
    'tree', 'vegetable', 'wall-brick', 'wall-concrete', 'wall-other', 'wall-panel', 'wall-stone', 'wall-tile',
    'wall-wood', 'water-other', 'waterdrops', 'window-blind', 'window-other', 'wood',
)
CAFFE_MEAN_BGR = (104.008, 116.669, 122.675)
ATROUS_RATES = (6, 12, 18, 24)
SCALES = (0.5, 0.75)


class ConvBN(nn.Sequential):
    """Convolution without bias, then batch norm (and ReLU unless ``relu`` is False)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, relu=True):
        super().__init__()
        self.add_module("conv", nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, bias=False))
        self.add_module("bn", nn.BatchNorm2d(out_channels))
        if relu:
            self.add_module("relu", nn.ReLU())


class CaffeBottleneck(nn.Module):
    """Bottleneck whose first 1×1 convolution carries the stride; a projection shortcut in a stage's first block."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, dilation: int, project: bool):
        super().__init__()
        mid = out_channels // 4
        self.reduce = ConvBN(in_channels, mid, 1, stride)
        self.conv3x3 = ConvBN(mid, mid, 3, 1, dilation, dilation)
        self.increase = ConvBN(mid, out_channels, 1, relu=False)
        self.shortcut = ConvBN(in_channels, out_channels, 1, stride, relu=False) if project else nn.Identity()

    def forward(self, x):
        return F.relu(self.increase(self.conv3x3(self.reduce(x))) + self.shortcut(x))


def res_stage(blocks: int, in_channels: int, out_channels: int, stride: int, dilation: int) -> nn.Sequential:
    stage = nn.Sequential()
    for index in range(blocks):
        stage.add_module(f"block{index + 1}", CaffeBottleneck(in_channels if index == 0 else out_channels, out_channels,
                                                               stride if index == 0 else 1, dilation, index == 0))
    return stage


class DilatedResNetASPP(nn.Module):
    """Image → class scores at 1/8 of its size (one scale)."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.layer1 = nn.Sequential()
        self.layer1.add_module("conv1", ConvBN(3, 64, 7, 2, 3))
        self.layer1.add_module("pool", nn.MaxPool2d(3, 2, 1, ceil_mode=True))
        self.layer2 = res_stage(3, 64, 256, 1, 1)
        self.layer3 = res_stage(4, 256, 512, 2, 1)
        self.layer4 = res_stage(23, 512, 1024, 1, 2)
        self.layer5 = res_stage(3, 1024, 2048, 1, 4)
        self.aspp = nn.Module()
        for index, rate in enumerate(ATROUS_RATES):
            self.aspp.add_module(f"c{index}", nn.Conv2d(2048, num_classes, 3, 1, rate, rate))

    def forward(self, x):
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4, self.layer5):
            x = layer(x)
        return sum(branch(x) for branch in self.aspp.children())


class DeepLabV2MSC(nn.Module):
    """Caffe-normalised BGR image → class scores at 1/8 of its size: the pixel-wise maximum over three scales."""

    def __init__(self, num_classes: int = 182):
        super().__init__()
        self.base = DilatedResNetASPP(num_classes)

    def forward(self, x):
        scores = self.base(x)
        for scale in SCALES:
            smaller = F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)
            rescaled = F.interpolate(self.base(smaller), size=scores.shape[2:], mode="bilinear", align_corners=False)
            scores = torch.maximum(scores, rescaled)
        return scores
