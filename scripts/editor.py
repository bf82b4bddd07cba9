"""Paint a label map in the browser and watch a trained run turn it into a picture.

    python scripts/editor.py --name RUN [--which_epoch latest] [--use_ema] [--gpu_ids -1] [--port 7860]
    python scripts/editor.py --name RUN --class_names classes.txt --host 0.0.0.0   # reachable from other machines

The run's options are read from its folder (as test.py --load_from_opt_file), the starting labels
from its dataset (or --dataroot / --label_dir). It prints the address to open; Ctrl-C stops it.
"""
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import uvicorn  # noqa: E402

from editor.classes import run_classes  # noqa: E402
from editor.engine import GeneratorEngine, canvas_size, load_model  # noqa: E402
from editor.options import EditorOptions  # noqa: E402
from editor.samples import DatasetLabels  # noqa: E402
from editor.server import create_app  # noqa: E402
from editor.styles import style_for  # noqa: E402
from util.errors import UserError, exits_on_user_error  # noqa: E402

LARGEST_CLASS_COUNT = 256  # the page and the label PNGs hold 8-bit ids


@exits_on_user_error
def main(argv=None) -> None:
    opt = EditorOptions().parse(argv)
    classes = run_classes(opt, opt.class_names)
    if len(classes) > LARGEST_CLASS_COUNT:
        raise UserError(f"the run has {len(classes)} classes but the editor paints 8-bit ids (at most "
                        f"{LARGEST_CLASS_COUNT}); check --label_nc of the run.")
    listening = bound_socket(opt.host, opt.port)
    model = load_model(opt)
    samples = DatasetLabels(opt, canvas_size(opt), np.array([c.colour for c in classes], dtype=np.uint8))
    engine = GeneratorEngine(opt, model, style_for(opt, model, samples))
    if samples.note:
        print(f"note: {samples.note}; pass --dataroot or --label_dir to offer dataset labels.")
    host, port = listening.getsockname()[:2]
    print(f"editor of run {opt.name} (epoch {opt.which_epoch}{', EMA' if opt.use_ema else ''}, "
          f"{engine.size[0]}×{engine.size[1]}, {len(classes)} classes) at http://{host}:{port}/  (Ctrl-C stops it)",
          flush=True)
    app = create_app(opt, engine, samples, classes)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    try:
        server.run(sockets=[listening])
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C after its graceful shutdown
        pass
    finally:
        engine.close()
    mean = engine.seconds_spent / max(engine.pictures_made, 1)
    print(f"served {engine.pictures_made} pictures, {mean:.3f} s of generation each on average")


def bound_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port), bound before the model loads so that a busy port is reported at once."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError as error:
        listening.close()
        raise UserError(f"cannot serve on {host}:{port} ({error.strerror}); pass another --port (0 picks a free one) "
                        f"or --host.")
    listening.listen(64)
    return listening


if __name__ == "__main__":
    main()
