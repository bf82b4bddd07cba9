"""A small U-Net that segments the demo faces, so the evaluation runs without downloaded weights.

Trained by ``scripts/train_segmenter.py``; its weight file holds the state_dict and the two
numbers that fix the architecture, so it loads strictly like any other segmenter.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

FORMAT = "toy-segmenter-v1"


def conv_block(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True),
                         nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class ToySegmenter(nn.Module):
    """Image in [-1, 1] → class logits at the input's size (two downsamplings, skip connections).

    Args:
        num_classes (int): output classes.
        width (int): channels of the first level (doubled at each downsampling).
    """

    def __init__(self, num_classes: int, width: int = 16):
        super().__init__()
        self.num_classes, self.width = num_classes, width
        self.level1 = conv_block(3, width)
        self.level2 = conv_block(width, 2 * width, stride=2)
        self.level3 = conv_block(2 * width, 4 * width, stride=2)
        self.up2 = conv_block(4 * width + 2 * width, 2 * width)
        self.up1 = conv_block(2 * width + width, width)
        self.classifier = nn.Conv2d(width, num_classes, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x1 = self.level1(images)
        x2 = self.level2(x1)
        x3 = self.level3(x2)
        y2 = self.up2(torch.cat((F.interpolate(x3, size=x2.shape[2:], mode="bilinear", align_corners=False), x2), 1))
        y1 = self.up1(torch.cat((F.interpolate(y2, size=x1.shape[2:], mode="bilinear", align_corners=False), x1), 1))
        return self.classifier(y1)

    def checkpoint(self) -> dict:
        """What ``scripts/train_segmenter.py`` saves: the architecture's numbers and the weights."""
        return {"format": FORMAT, "num_classes": self.num_classes, "width": self.width,
                "state_dict": self.state_dict()}

    @classmethod
    def from_checkpoint(cls, checkpoint: dict) -> "ToySegmenter":
        """Rebuild a saved toy segmenter, loading its weights strictly."""
        if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
            raise ValueError(f"not a toy segmenter file (expected format {FORMAT})")
        model = cls(checkpoint["num_classes"], checkpoint["width"])
        model.load_state_dict(checkpoint["state_dict"], strict=True)
        return model
