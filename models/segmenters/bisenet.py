"""BiSeNet face parsing (zllrunning/face-parsing.PyTorch, weights ``79999_iter.pth``), as many face papers score faces.

A ResNet-18 context path with attention refinement at 1/16 and 1/32, fused with the 1/8
features (this release uses ResNet's 1/8 map in place of a separate spatial path). Only the
main head is evaluated; the two auxiliary heads exist so that the official file loads strictly.
Its 19 classes are CelebAMask-HQ's parts in another order (``CLASS_NAMES``).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from models.segmenters.resnet_parts import BasicBlock, stage

# output index -> part name, the order of the repository's prepropess_data.py (0 is the background)
CLASS_NAMES = ("background", "skin", "l_brow", "r_brow", "l_eye", "r_eye", "eye_g", "l_ear", "r_ear", "ear_r",
               "nose", "mouth", "u_lip", "l_lip", "neck", "neck_l", "cloth", "hair", "hat")


class ConvBNReLU(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, 1, kernel_size // 2, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def global_average(x):
    return F.avg_pool2d(x, x.shape[2:])


class ResNet18Trunk(nn.Module):
    """ResNet-18 without its classifier; returns the 1/8, 1/16 and 1/32 feature maps."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = stage(BasicBlock, 64, 64, 2, stride=1)
        self.layer2 = stage(BasicBlock, 64, 128, 2, stride=2)
        self.layer3 = stage(BasicBlock, 128, 256, 2, stride=2)
        self.layer4 = stage(BasicBlock, 256, 512, 2, stride=2)

    def forward(self, x):
        x = self.layer1(self.maxpool(F.relu(self.bn1(self.conv1(x)))))
        eighth = self.layer2(x)
        sixteenth = self.layer3(eighth)
        return eighth, sixteenth, self.layer4(sixteenth)


class AttentionRefinement(nn.Module):
    """Features reweighted channel-wise by a sigmoid of their global average."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = ConvBNReLU(in_channels, out_channels)
        self.conv_atten = nn.Conv2d(out_channels, out_channels, 1, bias=False)
        self.bn_atten = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        features = self.conv(x)
        return features * torch.sigmoid(self.bn_atten(self.conv_atten(global_average(features))))


class ContextPath(nn.Module):
    def __init__(self):
        super().__init__()
        self.resnet = ResNet18Trunk()
        self.arm16 = AttentionRefinement(256, 128)
        self.arm32 = AttentionRefinement(512, 128)
        self.conv_head32 = ConvBNReLU(128, 128)
        self.conv_head16 = ConvBNReLU(128, 128)
        self.conv_avg = ConvBNReLU(512, 128, kernel_size=1)

    def forward(self, x):
        eighth, sixteenth, thirty_second = self.resnet(x)
        context = F.interpolate(self.conv_avg(global_average(thirty_second)), thirty_second.shape[2:], mode="nearest")
        up32 = self.conv_head32(F.interpolate(self.arm32(thirty_second) + context, sixteenth.shape[2:],
                                              mode="nearest"))
        up16 = self.conv_head16(F.interpolate(self.arm16(sixteenth) + up32, eighth.shape[2:], mode="nearest"))
        return eighth, up16


class FeatureFusion(nn.Module):
    """Concatenated maps, a 1×1 conv, then a squeeze-and-excitation style reweighting added back."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.convblk = ConvBNReLU(in_channels, out_channels, kernel_size=1)
        self.conv1 = nn.Conv2d(out_channels, out_channels // 4, 1, bias=False)
        self.conv2 = nn.Conv2d(out_channels // 4, out_channels, 1, bias=False)

    def forward(self, spatial, context):
        features = self.convblk(torch.cat((spatial, context), 1))
        attention = torch.sigmoid(self.conv2(F.relu(self.conv1(global_average(features)))))
        return features * attention + features


class Head(nn.Module):
    def __init__(self, in_channels: int, mid_channels: int, num_classes: int):
        super().__init__()
        self.conv = ConvBNReLU(in_channels, mid_channels)
        self.conv_out = nn.Conv2d(mid_channels, num_classes, 1, bias=False)

    def forward(self, x):
        return self.conv_out(self.conv(x))


class BiSeNetFaceParsing(nn.Module):
    """ImageNet-normalised RGB image (512×512 in the protocol) → 19 class scores per pixel, at the input's size."""

    def __init__(self, num_classes: int = 19):
        super().__init__()
        self.cp = ContextPath()
        self.ffm = FeatureFusion(256, 256)
        self.conv_out = Head(256, 256, num_classes)
        self.conv_out16 = Head(128, 64, num_classes)  # auxiliary training heads, unused at test time
        self.conv_out32 = Head(128, 64, num_classes)

    def forward(self, x):
        eighth, context = self.cp(x)
        scores = self.conv_out(self.ffm(eighth, context))
        return F.interpolate(scores, x.shape[2:], mode="bilinear", align_corners=True)
