"""Segmentation scores of generated pictures: a confusion matrix and the mIoU, pixel accuracy and per-class IoU of it.

The scores are those of the SPADE-family papers: a pretrained segmenter labels the generated
picture, and its labels are compared with the label map the picture was generated from.
Pixels whose ground-truth label is outside the dataset's classes (e.g. 255) do not count; a
predicted label outside them (a segmenter class the dataset does not have) is a miss.
"""
import numpy as np
import torch


class ConfusionMatrix:
    """Counts of (ground-truth class, predicted class) pairs over every pixel added.

    ``counts`` is num_classes × (num_classes + 1); its last column counts predictions outside
    the classes.

    Args:
        num_classes (int): classes 0..num_classes-1; other ground-truth values are ignored.
    """

    def __init__(self, num_classes: int):
        self.num_classes = num_classes
        self.counts = np.zeros((num_classes, num_classes + 1), dtype=np.int64)

    def add(self, predicted: torch.Tensor, target: torch.Tensor) -> None:
        """Args:
            predicted (torch.Tensor): integer class ids, any shape.
            target (torch.Tensor): integer class ids of the same shape; values outside
                0..num_classes-1 (e.g. 255) are ignored.

        Predicted values outside 0..num_classes-1 count in the last column.
        """
        if predicted.shape != target.shape:
            raise ValueError(f"prediction {tuple(predicted.shape)} and target {tuple(target.shape)} differ in shape")
        predicted, target = predicted.reshape(-1).long().cpu(), target.reshape(-1).long().cpu()
        valid = (target >= 0) & (target < self.num_classes)
        predicted, target = predicted[valid], target[valid]
        outside = (predicted < 0) | (predicted >= self.num_classes)
        predicted = torch.where(outside, self.num_classes, predicted)
        columns = self.num_classes + 1
        pairs = target * columns + predicted
        self.counts += torch.bincount(pairs, minlength=self.num_classes * columns).reshape(
            self.num_classes, columns).numpy()

    def per_class_iou(self) -> np.ndarray:
        """IoU of every class; NaN for a class that is neither in the targets nor predicted."""
        true_positive = np.diag(self.counts).astype(np.float64)
        predicted_as = self.counts.sum(axis=0)[:self.num_classes]
        union = predicted_as + self.counts.sum(axis=1) - true_positive
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(union > 0, true_positive / np.maximum(union, 1), np.nan)

    def mean_iou(self) -> float:
        """Mean IoU over the classes that occur in the targets or the predictions."""
        iou = self.per_class_iou()
        return float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan")

    def pixel_accuracy(self) -> float:
        """Fraction of counted pixels whose predicted class is the target class."""
        total = self.counts.sum()
        return float(np.diag(self.counts).sum() / total) if total else float("nan")
