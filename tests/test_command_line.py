"""--help lists every flag the chosen mode accepts, by topic, with that mode's defaults; typos get the closest flag."""
import re
import sys

import pytest

import data
from conftest import run_script
from options.command_line import TOPICS, closest_flag
from options.test_options import TestOptions
from options.train_options import TrainOptions


def help_entries(text: str) -> dict[str, str]:
    """{flag: its help text, joined into one line} from argparse's help output."""
    entries, flag = {}, None
    for line in text.splitlines():
        match = re.match(r"  (-\w, )?(--\w+)", line)
        if match:
            flag = match[2]
            entries[flag] = line[match.end():]
        elif flag and line.startswith("    "):
            entries[flag] += " " + line.strip()
        else:
            flag = None
    return {flag: " ".join(text.split()) for flag, text in entries.items()}


def test_custom_mode_help_lists_every_flag_with_its_help_and_the_modes_default():
    result = run_script("train.py", "--dataset_mode", "custom", "--help")
    assert result.returncode == 0, result.stderr
    entries = help_entries(result.stdout)
    parser = TrainOptions().assemble(["--dataset_mode", "custom"], {})
    flags = {action.option_strings[-1]: action for action in parser._actions}
    assert set(entries) == set(flags)
    for flag, action in flags.items():
        assert action.help and action.help.split()[0] in entries[flag], flag
        default = parser.get_default(action.dest)
        if action.nargs != 0 and default not in (None, "", sys.maxsize):  # what the help leaves out says nothing
            assert entries[flag].endswith(f"(default: {default})"), flag
    # the custom mode's own flags and defaults, not the base parser's
    for flag in ("--label_dir", "--image_dir", "--vgg_weights", "--no_validation", "--num_D", "--dataroot"):
        assert flag in entries
    assert entries["--crop_size"].endswith("(default: 256)") and entries["--label_nc"].endswith("(default: 13)")
    assert entries["--beta1"].count("default") == 1 and entries["--beta1"].endswith("(default: 0.0)")
    titles = [line.split(":")[0] for line in result.stdout.splitlines() if line.endswith(":") and line[0] != " "]
    assert titles == list(TOPICS)


@pytest.mark.parametrize("options", [TrainOptions, TestOptions])
def test_every_flag_of_every_mode_has_a_topic(options):
    topics = {flag for _, flags in TOPICS.values() for flag in flags}
    for mode in data.DATASET_MODES:
        for extra in ([], ["--netD", "n_layer"]):
            parser = options().assemble(["--dataset_mode", mode, *extra], {})
            for action in parser._actions:
                assert action.dest in topics or "does nothing" in action.help, (mode, action.dest)


def test_a_mistyped_flag_gets_one_line_with_the_closest_flag(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["train.py"])
    with pytest.raises(SystemExit) as exited:
        TrainOptions().parse(["--batchsize", "8", "--nitre", "3", "--tf_log"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: unknown flag --batchsize (did you mean --batchSize?); unknown flag --nitre (did you mean --niter?); "
        "`train.py --help` lists every flag."]
    assert closest_flag("--label-dir", ["--label_dir", "--image_dir"]) == "--label_dir"
    assert closest_flag("--xyz", ["--label_dir", "--image_dir"]) is None
