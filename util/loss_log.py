"""Reading training-loss histories from loss_log.txt (reference format) and TensorBoard logs.

Both readers return a LossHistory: per series (GAN, D_real, FID, ...) the x positions in
iterations and in epochs, and the logged values. A resumed run logs part of an epoch again;
the later values win: whenever a point lands at or before an earlier one, the earlier points
from that position on are dropped, so every curve runs forwards.

Positions in a loss_log.txt are (epoch, iters), with iters counting images inside the epoch
(docs/reference.md §5.3). Our train.py starts every launch with a launch line

    (launch at epoch: 3, iters: 0, iteration: 10; batchSize: 4, images per epoch: 16)

that places the loss lines after it exactly, whatever batch size earlier launches had. Lines
without one (the reference's logs) are placed with two numbers, each inferred unless given:
- images per epoch: the largest iters logged (the last print of an epoch is at most one
  print interval before its end);
- batch size: batchSize from the run's opt.txt, else the greatest common divisor of the logged
  iters values (each is a multiple of the batch size, so this can overshoot it when the batch
  size divides print_freq: pass it when opt.txt is missing).
epoch = images seen / images per epoch (fractional, 0.5 = half of the first epoch);
iteration = images seen / batch size.

A run folder with both a loss_log.txt and TensorBoard events (``--tf_log`` from some launch on)
is read from both and merged by iteration: the events give full-precision values where they
exist, the loss_log.txt the rest of the history and the epochs.
"""
from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
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
_LAUNCH_LINE = re.compile(r"\(launch at epoch: (\d+), iters: (\d+), iteration: (\d+); "
                          r"batchSize: (\d+), images per epoch: (\d+)\)")
_LOSS_TERM = re.compile(r"(\w+): (\S+)")
_BATCH_SIZE_OPTION = re.compile(r"^\s*batchSize: (\d+)", re.MULTILINE)
_EVENT_FILE_PATTERN = "events.out.tfevents.*"
_TENSORBOARD_SERIES_PREFIX = "loss/"
_TENSORBOARD_FID_TAG = "eval/FID"
_TENSORBOARD_EPOCH_TAG = "progress/epoch"


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
    """All series of one training run; ``parts`` says what was read, e.g. "loss_log.txt (iterations 1-14)"."""

    run: str
    source: Path
    series: dict[str, LossSeries]
    parts: list[str] = field(default_factory=list)

    def to_csv(self, path: str | Path) -> int:
        """Write the history as long-format CSV; see write_csv.

        Args:
            path: CSV file to write.

        Returns:
            The number of data rows.
        """
        return write_csv([self], path)


@dataclass
class _Launch:
    """A launch line: where a launch of train.py started and its epoch geometry."""

    epoch: int
    iters: int
    iteration: int
    batch_size: int
    images_per_epoch: int

    def place(self, epoch: int, iters: float) -> tuple[float, float]:
        """(iteration, fractional epoch) of a line of this launch; an evaluation sits at its epoch's end."""
        iters = min(iters, self.images_per_epoch)
        images = (epoch - self.epoch) * self.images_per_epoch + iters - self.iters
        return self.iteration + images / self.batch_size, epoch - 1 + iters / self.images_per_epoch


@dataclass
class _Record:
    """One log line: its position, the values it logged there, and the launch that wrote it (if it says)."""

    epoch: int
    iters: float  # math.inf for an end-of-epoch evaluation
    values: dict[str, float]
    launch: _Launch | None = None

    @property
    def key(self) -> tuple[int, float]:
        return self.epoch, self.iters


def read_loss_log(path: str | Path, images_per_epoch: int | None = None,
                  batch_size: int | None = None) -> LossHistory:
    """Read a loss_log.txt in the reference format.

    Args:
        path: the loss_log.txt file.
        images_per_epoch: training images per epoch of lines without a launch line; inferred from
            the log when None.
        batch_size: images per iteration of lines without a launch line; read from opt.txt beside
            the log, else inferred.

    Returns:
        The history, named after the folder holding the log.
    """
    path = Path(path)
    items = _read_items(path)
    records = [item for item in items if isinstance(item, _Record)]
    if not _logged_iters(records):
        raise UserError(f"{path} holds no loss lines such as '(epoch: 1, iters: 2, time: 0.011) "
                        f"GAN: 0.000 ...': pass the loss_log.txt that train.py wrote for the run.")
    unplaced = [record for record in records if record.launch is None]
    images_per_epoch, batch_size = _epoch_geometry(unplaced, path.parent, images_per_epoch, batch_size)
    kept = _placed_records(items, images_per_epoch, batch_size)
    points: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for (iteration, _), epoch, values in kept:
        for name, value in values.items():
            points[name].append((iteration, epoch, value))
    series = _series_from_points(points, np.float64)
    return LossHistory(path.parent.name, path, series, [f"{path.name} ({_iteration_range(series)})"])


def _placed_records(items: list, images_per_epoch: int | None,
                    batch_size: int | None) -> list[tuple[tuple[float, int], float, dict]]:
    """((iteration, is evaluation), epoch, values) of the records that later lines did not overwrite.

    Args:
        items: launch lines and records of a loss_log.txt, in order.
        images_per_epoch, batch_size: place the records without a launch line.
    """
    kept = []
    for item in items:
        if isinstance(item, _Launch):  # what a killed launch logged after the state this one resumes
            while kept and kept[-1][0][0] > item.iteration:
                kept.pop()
            continue
        if item.launch is not None:
            iteration, epoch = item.launch.place(item.epoch, item.iters)
        else:
            images = (item.epoch - 1) * images_per_epoch + min(item.iters, images_per_epoch)
            iteration, epoch = images / batch_size, images / images_per_epoch
        key = (iteration, int(item.iters == math.inf))
        while kept and kept[-1][0] >= key:  # a resumed launch logs again from where it resumed
            kept.pop()
        kept.append((key, epoch, item.values))
    return kept


def read_tensorboard_log(folder: str | Path, images_per_epoch: int | None = None,
                         batch_size: int | None = None) -> LossHistory:
    """Read the scalars `loss/<name>` and `eval/FID` from the event files of one logs folder.

    Steps are global iterations. Event files of resumed runs are merged: for a step logged
    twice, the value written last (by wall time) wins. Other tags (lr/, speed/) are skipped.
    Epochs come from the `progress/epoch` scalars train.py logs with the losses; for logs
    without them, from images_per_epoch and batch_size when both are given, else they are NaN.

    Args:
        folder: the folder holding the event files, usually checkpoints/<name>/logs.
        images_per_epoch: training images per epoch, for logs without `progress/epoch`.
        batch_size: images per iteration, for logs without `progress/epoch`.

    Returns:
        The history, named after the run folder (the parent of a folder called logs).
    """
    folder = Path(folder)
    event_files = sorted(folder.glob(_EVENT_FILE_PATTERN))
    if not event_files:
        raise UserError(f"{folder} holds no TensorBoard event files ({_EVENT_FILE_PATTERN}): "
                        f"pass the logs folder of a run trained with TensorBoard logging.")
    run_folder = folder.parent if folder.name == "logs" else folder
    events: dict[str, list[tuple[float, int, float]]] = defaultdict(list)
    for event_file in event_files:
        for name, scalar_events in _scalar_events(event_file).items():
            events[name].extend((e.wall_time, e.step, e.value) for e in scalar_events)
    latest = {}
    for name, scalar_events in events.items():
        scalar_events.sort(key=lambda event: event[0])  # stable: keeps file order on equal times
        latest[name] = [(step, value) for _, step, value in _drop_overwritten(scalar_events, key=lambda e: e[1])]
    logged_epochs = latest.pop(_TENSORBOARD_EPOCH_TAG, [])
    if not latest:
        raise UserError(f"{folder} holds no '{_TENSORBOARD_SERIES_PREFIX}<name>' scalars: "
                        f"pass the logs folder that train.py wrote for the run.")
    epoch_of = _epoch_of_step(logged_epochs, images_per_epoch, batch_size)
    points = {name: [(step, epoch_of(step), value) for step, value in steps] for name, steps in latest.items()}
    series = _series_from_points(points, np.float32)
    return LossHistory(run_folder.name, folder, series,
                       [f"{folder.name}/ TensorBoard events ({_iteration_range(series)})"])


def _epoch_of_step(logged_epochs: list[tuple[int, float]], images_per_epoch: int | None,
                   batch_size: int | None):
    """step -> fractional epoch: interpolated between logged `progress/epoch` points (exact inside a
    launch, whose batch size is fixed), else from the given geometry, else NaN."""
    if logged_epochs:
        steps, epochs = (np.asarray(values, dtype=np.float64) for values in zip(*logged_epochs))
        return lambda step: float(np.interp(step, steps, epochs, left=math.nan, right=math.nan))
    images_per_step = batch_size / images_per_epoch if images_per_epoch and batch_size else math.nan
    return lambda step: step * images_per_step


def read_run(path: str | Path, images_per_epoch: int | None = None,
             batch_size: int | None = None) -> LossHistory:
    """Read a run from a loss_log.txt, a run folder or a logs folder.

    A run folder (or its logs/) is read from both its loss_log.txt and its TensorBoard events when
    it has both, merged by iteration (module docstring).

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
    logs = next((folder for folder in (path / "logs", path) if any(folder.glob(_EVENT_FILE_PATTERN))), None)
    run_folder = path.parent if logs == path and path.name == "logs" else path
    loss_log = run_folder / "loss_log.txt"
    if logs is None and not loss_log.is_file():
        raise UserError(f"{path} holds neither TensorBoard event files (in logs/) nor a loss_log.txt: "
                        f"pass the run folder checkpoints/<name> of a trained run.")
    if logs is None:
        return read_loss_log(loss_log, images_per_epoch, batch_size)
    events = read_tensorboard_log(logs, images_per_epoch, batch_size)
    if not loss_log.is_file():
        return events
    return merged_history(read_loss_log(loss_log, images_per_epoch, batch_size), events)


def merged_history(log: LossHistory, events: LossHistory) -> LossHistory:
    """One history from a run's loss_log.txt and its TensorBoard events, by iteration.

    An iteration in both keeps the events' full-precision value and, where they have none, the
    log's epoch; every other point comes from the source that has it.
    """
    points: dict[str, list[tuple[float, float, float]]] = {}
    for name in set(log.series) | set(events.series):
        by_iteration = {}
        for source in (log, events):
            if name not in source.series:
                continue
            series = source.series[name]
            for iteration, epoch, value in zip(series.iteration, series.epoch, series.value):
                if np.isnan(epoch) and iteration in by_iteration:
                    epoch = by_iteration[iteration][0]
                by_iteration[iteration] = (epoch, _shortest_float(value))
        points[name] = [(iteration, epoch, value) for iteration, (epoch, value) in sorted(by_iteration.items())]
    return LossHistory(log.run, log.source.parent, _series_from_points(points, np.float64), log.parts + events.parts)


def _shortest_float(value) -> float:
    """A float32 value as the shortest decimal that reads back to it (0.3, not 0.30000001192092896)."""
    return float(np.format_float_positional(value, trim="-"))


def _iteration_range(series: dict[str, LossSeries]) -> str:
    iterations = np.concatenate([s.iteration for s in series.values()])
    return f"iterations {_format_number(iterations.min())}-{_format_number(iterations.max())}"


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


def _read_items(path: Path) -> list:
    """The launch lines (``_Launch``) and loss and evaluation lines (``_Record``) of a loss_log.txt, in order.

    Headers and unknown lines are skipped.
    """
    items, launch = [], None
    with open(path, errors="replace") as file:
        for line in file:
            match = _LAUNCH_LINE.fullmatch(line.strip())
            if match:
                launch = _Launch(*map(int, match.groups()))
                items.append(launch)
                continue
            record = _parse_line(line.strip())
            if record is not None:
                record.launch = launch
                items.append(record)
    return items


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
        elif tag == _TENSORBOARD_EPOCH_TAG:
            events[tag] = accumulator.Scalars(tag)
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
