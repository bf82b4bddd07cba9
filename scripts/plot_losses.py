"""Export training-loss plots for a paper: PNG (300 dpi), PDF, SVG, and the numbers as CSV.

    python scripts/plot_losses.py checkpoints/<name> [more runs ...] --out plots/<name>

Each input is a loss_log.txt, a run folder checkpoints/<name> or its logs/ folder; a run folder's
loss_log.txt and TensorBoard events are merged into one history (a run that turned on --tf_log
when resumed has both). Points sit at the iterations and epochs the run logged. Several runs
are overlaid.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import EngFormatter, FuncFormatter, LogLocator, MaxNLocator, NullFormatter  # noqa: E402

from util.errors import UserError, exits_on_user_error  # noqa: E402
from util.loss_log import LossHistory, ordered_series_names, read_run, write_csv  # noqa: E402

FIGURE_FORMATS = ("png", "pdf", "svg")
FIGURE_WIDTH_IN = {"single": 3.5, "double": 7.0}
PANEL_COLUMNS = {"single": 2, "double": 3}
PANEL_ROW_HEIGHT_IN = {"single": 1.45, "double": 1.75}
GENERATOR_LOSSES = ("KLD", "GAN", "GAN_Feat", "VGG")
# Okabe-Ito: told apart with colour-vision deficiencies and in greyscale print.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
LINESTYLES = ("-", "--", ":", "-.")
RAW_ALPHA = 0.25
MARKER_MAX_POINTS = 20  # sparse series (FID, short runs) show their points
PAPER_STYLE = {
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "figure.titlesize": 9,
    "figure.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.title_fontsize": 9,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "lines.linewidth": 1.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "pdf.fonttype": 42,  # TrueType, not Type 3: publishers reject Type 3 fonts
    "svg.fonttype": "none",  # text stays text, editable in a vector editor
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options.

    Args:
        argv: arguments without the program name; None reads sys.argv.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+",
                        help="loss_log.txt files, run folders checkpoints/<name>, or logs/ folders")
    parser.add_argument("--out", default="plots/losses",
                        help="output prefix: writes PREFIX.png, .pdf, .svg and .csv")
    parser.add_argument("--losses", nargs="+", help="series to plot, e.g. GAN D_real (default: all)")
    parser.add_argument("--layout", choices=("panels", "split"), default="panels",
                        help="panels: one panel per loss; split: generator vs discriminator losses")
    parser.add_argument("--x", choices=("iterations", "epochs"), default="iterations",
                        help="x axis: global iterations or fractional epochs")
    parser.add_argument("--smooth", type=int, default=1, metavar="W",
                        help="centred moving average over W logged points, raw curve drawn faint "
                             "(default 1: no smoothing)")
    parser.add_argument("--labels", nargs="+", help="legend names of the runs (default: run folder names)")
    parser.add_argument("--width", choices=tuple(FIGURE_WIDTH_IN), default="double",
                        help="single (3.5 in) or double (7.0 in) column figure")
    parser.add_argument("--title", help="figure title")
    parser.add_argument("--log_y", action="store_true", help="logarithmic y axes (values <= 0 are not drawn)")
    parser.add_argument("--iters_per_epoch", type=int,
                        help="for logs without launch lines (the reference's): training images per epoch "
                             "(default: the largest iters in loss_log.txt)")
    parser.add_argument("--batch_size", type=int,
                        help="for logs without launch lines (the reference's): images per iteration "
                             "(default: batchSize in opt.txt, else inferred)")
    return parser.parse_args(argv)


@exits_on_user_error
def main(argv: list[str] | None = None) -> None:
    """Read the runs, draw the figure, write it and the CSV, print a one-line summary.

    Args:
        argv: arguments without the program name; None reads sys.argv.
    """
    args = parse_args(argv)
    check_numbers(args)
    histories = read_runs(args.paths, args.labels, args.iters_per_epoch, args.batch_size)
    for history in histories:
        print(f"{history.run}: {'merged ' if len(history.parts) > 1 else 'read '}{' and '.join(history.parts)}")
    names = selected_series(histories, args.losses)
    check_x_axis(histories, names, args.x)
    prefix = output_prefix(args.out)
    rows = write_csv([only_series(history, names) for history in histories], prefix.with_name(prefix.name + ".csv"))
    with plt.rc_context(PAPER_STYLE):  # savefig reads the font types too
        save_figure(draw_figure(histories, names, args), prefix)
    print(f"wrote {prefix}.{{{','.join(FIGURE_FORMATS)},csv}}: {plural(len(names), 'loss', 'losses')}, "
          f"{plural(len(histories), 'run', 'runs')}, {plural(rows, 'point', 'points')}")


def check_numbers(args: argparse.Namespace) -> None:
    """Reject non-positive counts before any file is read."""
    for flag in ("smooth", "iters_per_epoch", "batch_size"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise UserError(f"--{flag} {value} must be a positive whole number.")


def read_runs(paths: list[str], labels: list[str] | None, images_per_epoch: int | None,
              batch_size: int | None) -> list[LossHistory]:
    """Read every input, named by --labels when given.

    Args:
        paths: the inputs as given on the command line.
        labels: legend names, one per path, or None.
        images_per_epoch: --iters_per_epoch, or None.
        batch_size: --batch_size, or None.
    """
    if labels is not None and len(labels) != len(paths):
        raise UserError(f"--labels gives {len(labels)} names for {len(paths)} runs: "
                        f"give one name per input path.")
    histories = [read_run(path, images_per_epoch, batch_size) for path in paths]
    for history, label in zip(histories, labels or []):
        history.run = label
    return histories


def selected_series(histories: list[LossHistory], requested: list[str] | None) -> list[str]:
    """The series to plot: the requested ones, or all that any run logged, in print order.

    Args:
        histories: the runs.
        requested: --losses, or None for all.
    """
    logged = ordered_series_names({name for history in histories for name in history.series})
    for name in requested or []:
        if name not in logged:
            raise UserError(f"--losses {name}: no input logged '{name}'; the logs hold "
                            f"{', '.join(logged)}.")
    return ordered_series_names(requested) if requested else logged


def check_x_axis(histories: list[LossHistory], names: list[str], x_axis: str) -> None:
    """Epoch positions need the epoch size, which TensorBoard logs alone do not hold."""
    if x_axis != "epochs":
        return
    for history in histories:
        for name in names:
            if name in history.series and np.isnan(history.series[name].epoch).any():
                raise UserError(f"--x epochs needs the epoch size of {history.source}: pass "
                                f"--iters_per_epoch and --batch_size, or use --x iterations.")


def only_series(history: LossHistory, names: list[str]) -> LossHistory:
    """A copy of the history holding only the named series."""
    series = {name: history.series[name] for name in names if name in history.series}
    return LossHistory(history.run, history.source, series)


def output_prefix(out: str) -> Path:
    """The --out prefix, without a figure or CSV suffix given by habit, its folder created."""
    prefix = Path(out)
    if prefix.suffix.lstrip(".") in FIGURE_FORMATS + ("csv",):
        prefix = prefix.with_suffix("")
    try:
        prefix.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"--out {out}: cannot create the folder {prefix.parent} ({error.strerror}); "
                        f"pass a writable location.") from error
    return prefix


def panel_contents(names: list[str], layout: str) -> list[tuple[str, list[str]]]:
    """(panel title, series in it) for each panel.

    Args:
        names: the selected series, in print order.
        layout: "panels" (one per series) or "split" (generator, discriminator, FID).
    """
    if layout == "panels":
        return [(name, [name]) for name in names]
    groups = {"generator": [], "discriminator": [], "FID": []}
    for name in names:
        group = "FID" if name == "FID" else "discriminator" if name.startswith("D_") else "generator"
        groups[group].append(name)
    return [(title, group) for title, group in groups.items() if group]


def draw_figure(histories: list[LossHistory], names: list[str], args: argparse.Namespace):
    """The figure: a grid of panels sharing x, legends where they tell curves apart.

    Call it inside plt.rc_context(PAPER_STYLE).

    Args:
        histories: the runs.
        names: the series to draw.
        args: the command-line options (layout, x, smooth, width, title, log_y).
    """
    panels = panel_contents(names, args.layout)
    # as few rows as the width allows, the panels spread evenly over them (4 panels: 2×2, not 3 + 1)
    rows = math.ceil(len(panels) / PANEL_COLUMNS[args.width])
    columns = math.ceil(len(panels) / rows)
    height = rows * PANEL_ROW_HEIGHT_IN[args.width] + 0.35 + 0.2 * (len(histories) > 1)
    figure = plt.figure(figsize=(FIGURE_WIDTH_IN[args.width], height), layout="constrained")
    axes = figure.subplots(rows, columns, sharex=True, squeeze=False).ravel()
    for index, (ax, (title, panel_names)) in enumerate(zip(axes, panels)):
        draw_panel(ax, title, histories, [names.index(name) for name in panel_names], names, args)
        if index + columns >= len(panels):  # lowest panel of its column, also above an empty slot
            ax.tick_params(labelbottom=True)
            ax.set_xlabel(args.x)
    for ax in axes[len(panels):]:
        ax.set_axis_off()
    if len(histories) > 1:
        figure.legend(handles=run_legend_handles(histories, args.layout),
                      loc="outside lower center", ncols=min(len(histories), 4))
    if args.title:
        figure.suptitle(args.title)
    return figure


def draw_panel(ax, title: str, histories: list[LossHistory], series_indices: list[int],
               names: list[str], args: argparse.Namespace) -> None:
    """Draw the given series of every run into one panel, with its title or titled legend.

    In the panels layout the colour tells runs apart; in the split layout the colour tells the
    losses apart and the line style the runs.

    Args:
        ax: the panel's axes.
        title: the panel's name.
        histories: the runs.
        series_indices: positions in names of the series in this panel.
        names: all selected series (a series keeps its colour across panels).
        args: the command-line options.
    """
    for run_index, history in enumerate(histories):
        for series_index in series_indices:
            series = history.series.get(names[series_index])
            if series is None:
                continue
            if args.layout == "panels":
                style = {"color": COLOURS[run_index % len(COLOURS)], "linestyle": "-"}
            else:
                style = {"color": COLOURS[series_index % len(COLOURS)],
                         "linestyle": LINESTYLES[run_index % len(LINESTYLES)]}
            x = series.iteration if args.x == "iterations" else series.epoch
            draw_curve(ax, x, series.value.astype(np.float64), names[series_index], args.smooth, style)
    if len(series_indices) > 1:
        # Above the panel, titled with the panel's name: dense curves leave no free corner.
        ax.legend(handles=[Line2D([], [], color=COLOURS[i % len(COLOURS)], label=names[i])
                           for i in series_indices],
                  title=title, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2,
                  handlelength=1.2, columnspacing=1.0, borderaxespad=0.2)
    else:
        ax.set_title(title)
    format_axes(ax, args.x, args.log_y)


def draw_curve(ax, x: np.ndarray, values: np.ndarray, name: str, window: int, style: dict) -> None:
    """One curve: raw values, or a moving average in front of the faint raw values.

    FID is a sparse evaluation, not a noisy minibatch loss, so it is never smoothed.
    """
    marker = "o" if len(values) <= MARKER_MAX_POINTS else None
    if window <= 1 or name == "FID":
        ax.plot(x, values, marker=marker, markersize=2.5, **style)
        return
    ax.plot(x, values, alpha=RAW_ALPHA, linewidth=0.6, color=style["color"])
    ax.plot(x, moving_average(values, window), **style)


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average over `window` points, over fewer points near the ends.

    Args:
        values: the raw series.
        window: the number of points averaged.
    """
    sums = np.concatenate(([0.0], np.cumsum(values)))
    index = np.arange(len(values))
    start = np.clip(index - (window - 1) // 2, 0, len(values))
    stop = np.clip(index + window // 2 + 1, 0, len(values))
    return (sums[stop] - sums[start]) / (stop - start)


def format_axes(ax, x_axis: str, log_y: bool) -> None:
    """Few ticks, short iteration numbers (20k), optional log y axis."""
    if x_axis == "iterations":
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=x_axis == "iterations"))
    if log_y:
        ax.set_yscale("log", nonpositive="mask")
        low, high = ax.get_ylim()
        # Plain numbers at 1-2-5 steps on short ranges, instead of labels like 6×10^0.
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0) if high / low < 30 else (1.0,)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
    else:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.tick_params(length=2.5, pad=2)


def run_legend_handles(histories: list[LossHistory], layout: str) -> list[Line2D]:
    """Legend entries naming the runs by their colour (panels) or line style (split)."""
    if layout == "panels":
        return [Line2D([], [], color=COLOURS[i % len(COLOURS)], label=history.run)
                for i, history in enumerate(histories)]
    return [Line2D([], [], color="0.3", linestyle=LINESTYLES[i % len(LINESTYLES)], label=history.run)
            for i, history in enumerate(histories)]


def save_figure(figure, prefix: Path) -> None:
    """Write PREFIX.png (300 dpi), PREFIX.pdf and PREFIX.svg at the figure's exact size."""
    for figure_format in FIGURE_FORMATS:
        figure.savefig(prefix.with_name(f"{prefix.name}.{figure_format}"), dpi=300)
    plt.close(figure)


def plural(count: int, singular: str, plural_form: str) -> str:
    """'1 run', '2 runs'."""
    return f"{count} {singular if count == 1 else plural_form}"


if __name__ == "__main__":
    main()
