"""The face-parsing U-Net of the CelebAMask-HQ authors (switchablenorms/CelebAMask-HQ, ``face_parsing/``).

The network SEAN-, SCDM- and imaginaire-style CelebAMask-HQ evaluations score generated faces
with: a four-level U-Net with widths 16-256 (the paper's 64-1024 divided by 4), batch norm,
transposed-convolution upsampling and 19 outputs in CelebAMask-HQ's own label order (ours).
Parameter names follow the authors' ``unet`` so their ``model.pth`` loads strictly.
"""
import torch
import torch.nn as nn

WIDTHS = (16, 32, 64, 128, 256)


class DoubleConv(nn.Module):
    """Two 3×3 convolutions, each followed by batch norm and ReLU (the authors' ``unetConv2``)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, 1, 1), nn.BatchNorm2d(out_channels),
                                   nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv2d(out_channels, out_channels, 3, 1, 1), nn.BatchNorm2d(out_channels),
                                   nn.ReLU())

    def forward(self, x):
        return self.conv2(self.conv1(x))


class UpStep(nn.Module):
    """Double the coarse map with a transposed convolution, join the skip map, then ``DoubleConv`` (``unetUp``)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = DoubleConv(in_channels, out_channels)
        self.up = nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2)

    def forward(self, skip, coarse):
        return self.conv(torch.cat((skip, self.up(coarse)), 1))


class FaceParsingUNet(nn.Module):
    """Image normalised to [-1, 1], side a multiple of 16 (512 in the authors' protocol) → 19 class scores per pixel."""

    def __init__(self, num_classes: int = 19):
        super().__init__()
        w = WIDTHS
        self.conv1, self.conv2 = DoubleConv(3, w[0]), DoubleConv(w[0], w[1])
        self.conv3, self.conv4 = DoubleConv(w[1], w[2]), DoubleConv(w[2], w[3])
        self.center = DoubleConv(w[3], w[4])
        self.up_concat4, self.up_concat3 = UpStep(w[4], w[3]), UpStep(w[3], w[2])
        self.up_concat2, self.up_concat1 = UpStep(w[2], w[1]), UpStep(w[1], w[0])
        self.final = nn.Conv2d(w[0], num_classes, 1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        skips = []
        for level in (self.conv1, self.conv2, self.conv3, self.conv4):
            x = level(x)
            skips.append(x)
            x = self.pool(x)
        x = self.center(x)
        for up, skip in zip((self.up_concat4, self.up_concat3, self.up_concat2, self.up_concat1), reversed(skips)):
            x = up(skip, x)
        return self.final(x)
