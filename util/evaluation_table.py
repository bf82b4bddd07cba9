"""The evaluation table: Markdown for reading, CSV for spreadsheets, JSON for scripts; one row per evaluated run."""
import csv
import io
import json
import math
from pathlib import Path

from util.files import atomic_write_bytes

COLUMNS = (  # (key, heading, format)
    ("fid", "FID ↓", "{:.2f}"),
    ("kid", "KID×10³ ↓", "{:.2f}"),  # KID is reported ×1000, as in most papers
    ("miou", "mIoU ↑", "{:.4f}"),
    ("accuracy", "accuracy ↑", "{:.4f}"),
    ("diversity_lpips", "LPIPS diversity ↑", "{:.4f}"),
)
SCALE = {"kid": 1000.0}


def _cell(figures: dict, key: str, form: str) -> str:
    value = figures.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return form.format(value * SCALE.get(key, 1.0))


def _columns_present(rows: list[dict]):
    return [column for column in COLUMNS if any(row.get(column[0]) is not None for row in rows)]


def markdown(rows: list[dict]) -> str:
    """The figures of several runs as a Markdown table, then each run's per-class IoU.

    Args:
        rows (list of dict): figures as ``PictureScores.result`` gives them, plus ``run``.
    """
    columns = _columns_present(rows)
    lines = ["| run | images | " + " | ".join(heading for _, heading, _ in columns) + " |",
             "|---|---:|" + "---:|" * len(columns)]
    for row in rows:
        lines.append(f"| {row['run']} | {row.get('images', '–')} | "
                     + " | ".join(_cell(row, key, form) for key, _, form in columns) + " |")
    for row in rows:
        if row.get("per_class_iou"):
            lines += ["", f"Per-class IoU of {row['run']} (segmenter {row.get('segmenter', '?')}; – where the class "
                      f"is neither in the label maps nor predicted):", "",
                      "| class | IoU |", "|---|---:|"]
            lines += [f"| {name} | {'–' if iou is None else f'{iou:.4f}'} |" for name, iou in row["per_class_iou"].items()]
    return "\n".join(lines) + "\n"


def csv_text(rows: list[dict]) -> str:
    """One line per run: the figures (KID unscaled), then one ``iou_<class>`` column per class."""
    classes = list(dict.fromkeys(name for row in rows for name in (row.get("per_class_iou") or {})))
    header = ["run", "images", "segmenter", "fid", "kid", "kid_std", "miou", "accuracy", "diversity_lpips"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header + [f"iou_{name}" for name in classes])
    for row in rows:
        ious = row.get("per_class_iou") or {}
        values = [row.get(key) for key in header] + [ious.get(name) for name in classes]
        writer.writerow(["" if value is None else value for value in values])
    return out.getvalue()


def write_tables(folder, rows: list[dict], stem: str = "evaluation") -> list[Path]:
    """Write ``<stem>.md``, ``<stem>.csv`` and ``<stem>.json`` into ``folder`` (atomically); returns their paths."""
    folder = Path(folder)
    texts = {"md": markdown(rows), "csv": csv_text(rows),
             "json": json.dumps(rows[0] if len(rows) == 1 else rows, indent=2) + "\n"}
    paths = []
    for suffix, text in texts.items():
        path = folder / f"{stem}.{suffix}"
        atomic_write_bytes(path, text.encode())
        paths.append(path)
    return paths


def summary(row: dict) -> str:
    """The figures of one run on one line."""
    parts = [f"{heading.split()[0]} {_cell(row, key, form)}" for key, heading, form in COLUMNS if row.get(key) is not None]
    return f"{row['run']} ({row.get('images', '?')} pictures): " + ", ".join(parts)
