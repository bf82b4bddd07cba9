"""UperNet-101 for ADE20K (CSAILVision/semantic-segmentation-pytorch, ``baseline-resnet101-upernet``).

A ResNet-101 with a three-conv stem (the encoder) and a unified perceptual parsing head (the
decoder): a pyramid pooling module on the 1/32 map and a feature pyramid over the 1/4-1/32 maps,
fused at 1/4. The release ships the encoder and the decoder as two files
(``encoder_epoch_50.pth``, ``decoder_epoch_50.pth``); their keys are this module's ``encoder.…``
and ``decoder.…``. The 150 outputs are ADE20K's labels 1..150 (label 0, "other", is not scored).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from models.segmenters.resnet_parts import Bottleneck, stage

# ADE20K's 150 classes (first name of each), label ids 1..150
ADE20K_CLASS_NAMES = (
    'wall', 'building', 'sky', 'floor', 'tree', 'ceiling', 'road', 'bed', 'windowpane', 'grass', 'cabinet',
    'sidewalk', 'person', 'earth', 'door', 'table', 'mountain', 'plant', 'curtain', 'chair', 'car', 'water',
    'painting', 'sofa', 'shelf', 'house', 'sea', 'mirror', 'rug', 'field', 'armchair', 'seat', 'fence', 'desk',
    'rock', 'wardrobe', 'lamp', 'bathtub', 'railing', 'cushion', 'base', 'box', 'column', 'signboard', 'chest',
    'counter', 'sand', 'sink', 'skyscraper', 'fireplace', 'refrigerator', 'grandstand', 'path', 'stairs', 'runway',
    'case', 'pool', 'pillow', 'screen', 'stairway', 'river', 'bridge', 'bookcase', 'blind', 'coffee', 'toilet',
    'flower', 'book', 'hill', 'bench', 'countertop', 'stove', 'palm', 'kitchen', 'computer', 'swivel', 'boat',
    'bar', 'arcade', 'hovel', 'bus', 'towel', 'light', 'truck', 'tower', 'chandelier', 'awning', 'streetlight',
    'booth', 'television', 'airplane', 'dirt', 'apparel', 'pole', 'land', 'bannister', 'escalator', 'ottoman',
    'bottle', 'buffet', 'poster', 'stage', 'van', 'ship', 'fountain', 'conveyer', 'canopy', 'washer', 'plaything',
    'swimming', 'stool', 'barrel', 'basket', 'waterfall', 'tent', 'bag', 'minibike', 'cradle', 'oven', 'ball',
    'food', 'step', 'tank', 'trade', 'microwave', 'pot', 'animal', 'bicycle', 'lake', 'dishwasher', 'screen',
    'blanket', 'sculpture', 'hood', 'sconce', 'vase', 'traffic', 'tray', 'ashcan', 'fan', 'pier', 'crt', 'plate',
    'monitor', 'bulletin', 'shower', 'radiator', 'glass', 'clock', 'flag',
)
POOL_SCALES = (1, 2, 3, 6)
FPN_DIM = 512


class SyncBatchNormLayout(nn.BatchNorm2d):
    """Batch norm with the three extra buffers of the release's synchronised batch norm, so its files load strictly.

    The buffers only serve its multi-GPU training; in evaluation it is plain batch norm.
    """

    def __init__(self, num_features: int):
        super().__init__(num_features)
        self.register_buffer("_tmp_running_mean", torch.zeros(num_features))
        self.register_buffer("_tmp_running_var", torch.ones(num_features))
        self.register_buffer("_running_iter", torch.ones(1))


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2, bias=False),
                         SyncBatchNormLayout(out_channels), nn.ReLU(inplace=True))


class DeepStemResNet101(nn.Module):
    """ResNet-101 whose 7×7 stem is three 3×3 convs (64, 64, 128 channels); returns the 1/4-1/32 maps."""

    def __init__(self):
        super().__init__()
        for index, (cin, cout, stride) in enumerate(((3, 64, 2), (64, 64, 1), (64, 128, 1)), start=1):
            setattr(self, f"conv{index}", nn.Conv2d(cin, cout, 3, stride, 1, bias=False))
            setattr(self, f"bn{index}", SyncBatchNormLayout(cout))
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = stage(Bottleneck, 128, 64, 3, norm=SyncBatchNormLayout)
        self.layer2 = stage(Bottleneck, 256, 128, 4, stride=2, norm=SyncBatchNormLayout)
        self.layer3 = stage(Bottleneck, 512, 256, 23, stride=2, norm=SyncBatchNormLayout)
        self.layer4 = stage(Bottleneck, 1024, 512, 3, stride=2, norm=SyncBatchNormLayout)

    def forward(self, x):
        for index in (1, 2, 3):
            x = F.relu(getattr(self, f"bn{index}")(getattr(self, f"conv{index}")(x)))
        x = self.maxpool(x)
        maps = []
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
            maps.append(x)
        return maps


class UPerHead(nn.Module):
    """Pyramid pooling on the coarsest map, a top-down feature pyramid, all levels fused at 1/4 → class scores."""

    def __init__(self, num_classes: int = 150, in_channels=(256, 512, 1024, 2048)):
        super().__init__()
        top = in_channels[-1]
        self.ppm_conv = nn.ModuleList(conv_bn_relu(top, 512, kernel_size=1) for _ in POOL_SCALES)
        self.ppm_last_conv = conv_bn_relu(top + len(POOL_SCALES) * 512, FPN_DIM)
        self.fpn_in = nn.ModuleList(conv_bn_relu(channels, FPN_DIM, kernel_size=1) for channels in in_channels[:-1])
        self.fpn_out = nn.ModuleList(nn.Sequential(conv_bn_relu(FPN_DIM, FPN_DIM)) for _ in in_channels[:-1])
        self.conv_last = nn.Sequential(conv_bn_relu(len(in_channels) * FPN_DIM, FPN_DIM),
                                       nn.Conv2d(FPN_DIM, num_classes, 1))

    def forward(self, maps):
        top = maps[-1]
        pooled = [conv(resize(F.adaptive_avg_pool2d(top, scale), top)) for scale, conv in zip(POOL_SCALES, self.ppm_conv)]
        feature = self.ppm_last_conv(torch.cat([top, *pooled], 1))
        pyramid = [feature]
        for level in reversed(range(len(maps) - 1)):
            lateral = self.fpn_in[level](maps[level])
            feature = lateral + resize(feature, lateral)
            pyramid.insert(0, self.fpn_out[level](feature))
        fused = torch.cat([pyramid[0], *(resize(level, pyramid[0]) for level in pyramid[1:])], 1)
        return self.conv_last(fused)


def resize(x, like):
    return F.interpolate(x, size=like.shape[2:], mode="bilinear", align_corners=False)


class UperNet101(nn.Module):
    """ImageNet-normalised RGB image → 150 ADE20K class scores at 1/4 of the input's size."""

    def __init__(self, num_classes: int = 150):
        super().__init__()
        self.encoder = DeepStemResNet101()
        self.decoder = UPerHead(num_classes)

    def forward(self, x):
        return self.decoder(self.encoder(x))
