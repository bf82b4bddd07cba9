"""DRN-D-105 for Cityscapes (fyu/drn, ``drn-d-105_ms_cityscapes.pth``), the segmenter of SPADE's Cityscapes scores.

A dilated residual network: plain-conv stem levels, bottleneck levels at strides 2, 4, 8, two
more levels dilated by 2 and 4 instead of strided, and two plain dilated convs that remove
gridding; a 1×1 classifier over the 1/8 map and a fixed bilinear ×8 transposed convolution.
Parameter names follow fyu/drn's ``DRNSeg`` (``base.<level>…``, ``seg``, ``up``).
"""
import torch.nn as nn
import torch.nn.functional as F

from models.segmenters.resnet_parts import Bottleneck, stage

# Cityscapes' 19 evaluated classes: train id -> label id of the 35-class label maps
CITYSCAPES_LABEL_OF_TRAIN_ID = (7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33)
CITYSCAPES_CLASS_NAMES = ("road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign",
                          "vegetation", "terrain", "sky", "person", "rider", "car", "truck", "bus", "train",
                          "motorcycle", "bicycle")
# the normalisation of fyu/drn's datasets/cityscapes/info.json
CITYSCAPES_MEAN = (0.29010095242892997, 0.32808144844279574, 0.28696394422942517)
CITYSCAPES_STD = (0.1829540508368939, 0.18656561047509476, 0.18447508988480435)


def conv_levels(in_channels: int, channels: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, channels, 3, stride, dilation, dilation, bias=False),
                         nn.BatchNorm2d(channels), nn.ReLU(inplace=True))


class DRNSeg(nn.Module):
    """Normalised RGB image → per-pixel class log-probabilities at 8× the 1/8 map (the input's size for multiples of 8)."""

    def __init__(self, num_classes: int = 19):
        super().__init__()
        stem = nn.Sequential(nn.Conv2d(3, 16, 7, 1, 3, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True))
        self.base = nn.Sequential(
            stem,
            conv_levels(16, 16),
            conv_levels(16, 32, stride=2),
            stage(Bottleneck, 32, 64, 3, stride=2),
            stage(Bottleneck, 256, 128, 4, stride=2),
            stage(Bottleneck, 512, 256, 23, dilation=2),
            stage(Bottleneck, 1024, 512, 3, dilation=4),
            conv_levels(2048, 512, dilation=2),
            conv_levels(512, 512),
        )
        self.seg = nn.Conv2d(512, num_classes, 1)
        self.up = nn.ConvTranspose2d(num_classes, num_classes, 16, stride=8, padding=4, groups=num_classes, bias=False)

    def forward(self, x):
        return F.log_softmax(self.up(self.seg(self.base(x))), dim=1)
