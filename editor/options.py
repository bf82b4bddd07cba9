"""The editor's options: test.py's, with the run's saved options always read, and where to serve."""
from options.persistence import restored_run_options
from options.test_options import TestOptions

# where the run's data is: taken from its saved options too, so the thumbnail strip needs no flags
DATA_LOCATION = {"dataroot", "label_dir", "image_dir", "instance_dir", "dist_dir"}


class EditorOptions(TestOptions):
    def initialize(self, parser):
        super().initialize(parser)
        editor = parser.add_argument_group("editor")
        editor.add_argument("--host", type=str, default="127.0.0.1",
                            help="address to serve on; 0.0.0.0 lets other machines reach the editor")
        editor.add_argument("--port", type=int, default=7860, help="port to serve on; 0 picks a free one")
        editor.add_argument("--class_names", type=str, default="",
                            help="text file of class names, one a line in id order; without it CelebAMask-HQ's "
                                 "names for that dataset mode, else the ids")
        parser.set_defaults(load_from_opt_file=True, how_many=24)
        return parser

    def layered_defaults(self, first, config):
        """The run's saved architecture (as test.py --load_from_opt_file) and where its data is."""
        saved = restored_run_options(first.checkpoints_dir, first.name, is_train=True)
        layered = {key: value for key, value in saved.items() if key in DATA_LOCATION}
        layered.update(super().layered_defaults(first, config))
        return layered
