"""Reading training-loss histories from loss_log.txt (reference format) and TensorBoard logs.

Both readers return a LossHistory: per series (GAN, D_real, FID, ...) the x positions in
iterations and in epochs, and the logged values. A resumed run logs part of an epoch again;
the later values win: whenever a point lands at or before an earlier one, the earlier points
from that position on are dropped, so every curve runs forwards.

Positions in a loss_log.txt are (epoch, iters), with iters counting images inside the epoch
(INVENTORY §5.3). Turning them into a global position needs two numbers, each inferred unless
given:
- images per epoch: the largest iters logged (the last print of an epoch is at most one
  print interval before its end);
- batch size: batchSize from the run's opt.txt, else the greatest common divisor of the logged
  iters values (each is a multiple of the batch size, so this can overshoot it when the batch
  size divides print_freq: pass it when opt.txt is missing).
epoch = images seen / images per epoch (fractional, 0.5 = half of the first epoch);
iteration = images seen / batch size.
"""
from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from util.errors import UserError

# Known series in the reference's print order; others follow alphabetically.
SERIES_ORDER = ("KLD", "GAN", "GAN_Feat", "VGG", "D_Fake", "D_real", "FID")
CSV_HEADER = ("run", "series", "iteration", "epoch", "value")

# CLADE's optional ", FID: x" repeats the best FID so far (1000 before the first evaluation),
# so FID points come from the evaluation lines only.
_TRAINING_LINE = re.compile(r"\(epoch: (\d+), iters: (\d+), time: [^,)]*(?:, FID: [^)]*)?\)(.*)")
_EVAL_LINE = re.compile(r"\(epoch: (\d+), curr FID: ([^,\s]+), previous best FID: [^)]*\)")
_LOSS_TERM = re.compile(r"(\w+): (\S+)")
_BATCH_SIZE_OPTION = re.compile(r"^\s*batchSize: (\d+)", re.MULTILINE)
_EVENT_FILE_PATTERN = "events.out.tfevents.*"
_TENSORBOARD_SERIES_PREFIX = "loss/"
_TENSORBOARD_FID_TAG = "eval/FID"


@dataclass
class LossSeries:
    """One logged quantity: x positions (iterations, fractional epochs) and values.

    epoch is NaN where the epoch size is unknown (TensorBoard logs without a loss_log.txt).
    value keeps the logged precision (float32 for TensorBoard).
    """

    iteration: np.ndarray
    epoch: np.ndarray
    value: np.ndarray


@dataclass
class LossHistory:
    """All series of one training run, read from one log."""

    run: str
    source: Path
    series: dict[str, LossSeries]

    def to_csv(self, path: str | Path) -> int:
        """Write the history as long-format CSV; see write_csv.

        Args:
            path: CSV file to write.

        Returns:
            The number of data rows.
        """
        return write_csv([self], path)


@dataclass
class _Record:
    """One log line: its position and the values it logged there."""

    epoch: int
    iters: float  # math.inf for an end-of-epoch evaluation
    values: dict[str, float]

    @property
    def key(self) -> tuple[int, float]:
        return self.epoch, self.iters


def read_loss_log(path: str | Path, images_per_epoch: int | None = None,
                  batch_size: int | None = None) -> LossHistory:
    """Read a loss_log.txt in the reference format.

    Args:
        path: the loss_log.txt file.
        images_per_epoch: training images per epoch; inferred from the log when None.
        batch_size: images per iteration; read from opt.txt beside the log, else inferred.

    Returns:
        The history, named after the folder holding the log.
    """
    path = Path(path)
    records = _read_records(path)
    if not _logged_iters(records):
        raise UserError(f"{path} holds no loss lines such as '(epoch: 1, iters: 2, time: 0.011) "
                        f"GAN: 0.000 ...': pass the loss_log.txt that train.py wrote for the run.")
    images_per_epoch, batch_size = _epoch_geometry(records, path.parent, images_per_epoch, batch_size)
    points: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for record in records:
        # An evaluation (iters = inf) sits at the end of its epoch.
        images = (record.epoch - 1) * images_per_epoch + min(record.iters, images_per_epoch)
        for name, value in record.values.items():
            points[name].append((images / batch_size, images / images_per_epoch, value))
    return LossHistory(path.parent.name, path, _series_from_points(points, np.float64))


def read_tensorboard_log(folder: str | Path, images_per_epoch: int | None = None,
                         batch_size: int | None = None) -> LossHistory:
    """Read the scalars `loss/<name>` and `eval/FID` from the event files of one logs folder.

    Steps are global iterations. Event files of resumed runs are merged: for a step logged
    twice, the value written last (by wall time) wins. Other tags (lr/, speed/) are skipped.

    Args:
        folder: the folder holding the event files, usually checkpoints/<name>/logs.
        images_per_epoch: training images per epoch; inferred from the run's loss_log.txt
            when None. Without it the epoch positions are NaN.
        batch_size: images per iteration; read from the run's opt.txt when None.

    Returns:
        The history, named after the run folder (the parent of a folder called logs).
    """
    folder = Path(folder)
    event_files = sorted(folder.glob(_EVENT_FILE_PATTERN))
    if not event_files:
        raise UserError(f"{folder} holds no TensorBoard event files ({_EVENT_FILE_PATTERN}): "
                        f"pass the logs folder of a run trained with TensorBoard logging.")
    run_folder = folder.parent if folder.name == "logs" else folder
    loss_log = run_folder / "loss_log.txt"
    records = _read_records(loss_log) if loss_log.is_file() else []
    images_per_epoch, batch_size = _epoch_geometry(records, run_folder, images_per_epoch, batch_size)
    events: dict[str, list[tuple[float, int, float]]] = defaultdict(list)
    for event_file in event_files:
        for name, scalar_events in _scalar_events(event_file).items():
            events[name].extend((e.wall_time, e.step, e.value) for e in scalar_events)
    if not events:
        raise UserError(f"{folder} holds no '{_TENSORBOARD_SERIES_PREFIX}<name>' scalars: "
                        f"pass the logs folder that train.py wrote for the run.")
    images_per_step = batch_size / images_per_epoch if images_per_epoch and batch_size else math.nan
    points: dict[str, list[tuple[float, float, float]]] = {}
    for name, scalar_events in events.items():
        scalar_events.sort(key=lambda event: event[0])  # stable: keeps file order on equal times
        latest = _drop_overwritten(scalar_events, key=lambda event: event[1])
        points[name] = [(step, step * images_per_step, value) for _, step, value in latest]
    return LossHistory(run_folder.name, folder, _series_from_points(points, np.float32))


def read_run(path: str | Path, images_per_epoch: int | None = None,
             batch_size: int | None = None) -> LossHistory:
    """Read a run from a loss_log.txt, a run folder or a logs folder.

    A run folder is read from its logs/ when that holds event files, else from its loss_log.txt.

    Args:
        path: loss_log.txt, checkpoints/<name>, or checkpoints/<name>/logs.
        images_per_epoch: training images per epoch; inferred when None.
        batch_size: images per iteration; inferred when None.

    Returns:
        The run's history.
    """
    path = Path(path)
    if path.is_file():
        return read_loss_log(path, images_per_epoch, batch_size)
    if not path.is_dir():
        raise UserError(f"{path} does not exist: pass a loss_log.txt, a run folder "
                        f"checkpoints/<name>, or its logs/ folder.")
    for logs in (path / "logs", path):
        if any(logs.glob(_EVENT_FILE_PATTERN)):
            return read_tensorboard_log(logs, images_per_epoch, batch_size)
    if (path / "loss_log.txt").is_file():
        return read_loss_log(path / "loss_log.txt", images_per_epoch, batch_size)
    raise UserError(f"{path} holds neither TensorBoard event files (in logs/) nor a loss_log.txt: "
                    f"pass the run folder checkpoints/<name> of a trained run.")


def ordered_series_names(names) -> list[str]:
    """Series names in the reference's print order, unknown names last, alphabetically.

    Args:
        names: any iterable of series names.
    """
    known = [name for name in SERIES_ORDER if name in names]
    return known + sorted(set(names) - set(SERIES_ORDER))


def write_csv(histories: list[LossHistory], path: str | Path) -> int:
    """Write histories as long-format CSV: run,series,iteration,epoch,value, one row per point.

    Args:
        histories: the runs to write, in order.
        path: CSV file to write.

    Returns:
        The number of data rows.
    """
    rows = 0
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_HEADER)
        for history in histories:
            for name in ordered_series_names(history.series):
                series = history.series[name]
                for iteration, epoch, value in zip(series.iteration, series.epoch, series.value):
                    writer.writerow((history.run, name, _format_number(iteration),
                                     _format_number(epoch), _format_number(value)))
                    rows += 1
    return rows


def _read_records(path: Path) -> list[_Record]:
    """The loss and evaluation lines of a loss_log.txt; headers and unknown lines are skipped."""
    records = []
    with open(path, errors="replace") as file:
        for line in file:
            record = _parse_line(line.strip())
            if record is not None:
                records.append(record)
    return _drop_overwritten(records, key=lambda record: record.key)


def _parse_line(line: str) -> _Record | None:
    """The record of one loss or evaluation line, None for any other line."""
    match = _TRAINING_LINE.fullmatch(line)
    try:
        if match:
            values = {name: float(value) for name, value in _LOSS_TERM.findall(match[3])}
            return _Record(int(match[1]), int(match[2]), values) if values else None
        match = _EVAL_LINE.match(line)
        if match:
            return _Record(int(match[1]), math.inf, {"FID": float(match[2])})
    except ValueError:  # a garbled number: treat the line as unknown
        pass
    return None


def _drop_overwritten(items: list, key) -> list:
    """Keep items whose key no later item reaches back to (a restart overwrites from its key on).

    Args:
        items: in the order they were written.
        key: item -> sortable position.
    """
    kept = []
    for item in items:
        while kept and key(kept[-1]) >= key(item):
            kept.pop()
        kept.append(item)
    return kept


def _logged_iters(records: list[_Record]) -> list[int]:
    """The iters values of the loss lines (evaluations have none)."""
    return [int(record.iters) for record in records if record.iters != math.inf]


def _epoch_geometry(records: list[_Record], run_folder: Path, images_per_epoch: int | None,
                    batch_size: int | None) -> tuple[int | None, int | None]:
    """Images per epoch and batch size: as given, else inferred (module docstring); None if unknown.

    Args:
        records: the run's loss_log.txt records, possibly none.
        run_folder: the folder that may hold the run's opt.txt.
        images_per_epoch: the --iters_per_epoch given, or None.
        batch_size: the --batch_size given, or None.
    """
    iters = _logged_iters(records)
    if images_per_epoch is not None and iters and images_per_epoch < max(iters):
        raise UserError(f"--iters_per_epoch {images_per_epoch} is smaller than the iters {max(iters)} "
                        f"logged in {run_folder / 'loss_log.txt'}: pass the number of training "
                        f"images per epoch.")
    if images_per_epoch is None and iters:
        images_per_epoch = max(iters)
    if batch_size is None:
        batch_size = _batch_size_from_options(run_folder)
    if batch_size is None and iters:
        batch_size = math.gcd(*iters) or 1
    return images_per_epoch, batch_size


def _batch_size_from_options(run_folder: Path) -> int | None:
    """batchSize from the run's opt.txt, None without one."""
    options = run_folder / "opt.txt"
    if not options.is_file():
        return None
    match = _BATCH_SIZE_OPTION.search(options.read_text(errors="replace"))
    return int(match[1]) if match else None


def _scalar_events(event_file: Path) -> dict[str, list]:
    """The loss and FID scalar events of one event file, by series name."""
    from tensorboard.backend.event_processing import event_accumulator  # slow import, rarely needed

    # Each file is read on its own, without purging, so that resumed runs merge by wall time.
    accumulator = event_accumulator.EventAccumulator(
        str(event_file), size_guidance={event_accumulator.SCALARS: 0}, purge_orphaned_data=False)
    accumulator.Reload()
    events = {}
    for tag in accumulator.Tags()[event_accumulator.SCALARS]:
        if tag.startswith(_TENSORBOARD_SERIES_PREFIX):
            events[tag[len(_TENSORBOARD_SERIES_PREFIX):]] = accumulator.Scalars(tag)
        elif tag == _TENSORBOARD_FID_TAG:
            events["FID"] = accumulator.Scalars(tag)
    return events


def _series_from_points(points: dict[str, list[tuple[float, float, float]]],
                        value_dtype) -> dict[str, LossSeries]:
    """LossSeries from (iteration, epoch, value) tuples, in the reference's series order."""
    series = {}
    for name in ordered_series_names(points):
        iteration, epoch, value = zip(*points[name])
        series[name] = LossSeries(np.asarray(iteration, dtype=np.float64),
                                  np.asarray(epoch, dtype=np.float64),
                                  np.asarray(value, dtype=value_dtype))
    return series


def _format_number(number) -> str:
    """Shortest text that reads back as the same number; empty for NaN."""
    if np.isnan(number):
        return ""
    if float(number).is_integer():
        return str(int(number))
    return np.format_float_positional(number, trim="-")
