"""ResNet building blocks in torchvision's parameter layout, shared by the segmenters' trunks."""
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with a shortcut (ResNet-18/34); ``downsample`` when the shape changes."""

    expansion = 1

    def __init__(self, in_channels: int, channels: int, stride: int = 1, dilation: int = 1, norm=nn.BatchNorm2d):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, dilation, dilation, bias=False)
        self.bn1 = norm(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, dilation, dilation, bias=False)
        self.bn2 = norm(channels)
        self.downsample = shortcut(in_channels, channels, stride, norm)

    def forward(self, x):
        residual = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(residual + (self.downsample(x) if self.downsample is not None else x))


def shortcut(in_channels: int, out_channels: int, stride: int, norm=nn.BatchNorm2d):
    if in_channels == out_channels and stride == 1:
        return None
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), norm(out_channels))


def stage(block, in_channels: int, channels: int, blocks: int, stride: int = 1, dilation: int = 1,
          norm=nn.BatchNorm2d) -> nn.Sequential:
    """``blocks`` residual blocks, the first one changing the width and the stride; all with one dilation."""
    layers = [block(in_channels, channels, stride, dilation, norm)]
    layers += [block(channels * block.expansion, channels, 1, dilation, norm) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class Bottleneck(nn.Module):
    """1×1 reduce, 3×3 (carrying the stride and dilation), 1×1 expand ×4, with a shortcut (ResNet-50/101)."""

    expansion = 4

    def __init__(self, in_channels: int, channels: int, stride: int = 1, dilation: int = 1, norm=nn.BatchNorm2d):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 1, bias=False)
        self.bn1 = norm(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride, dilation, dilation, bias=False)
        self.bn2 = norm(channels)
        self.conv3 = nn.Conv2d(channels, channels * 4, 1, bias=False)
        self.bn3 = norm(channels * 4)
        self.downsample = shortcut(in_channels, channels * 4, stride, norm)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + (self.downsample(x) if self.downsample is not None else x))
