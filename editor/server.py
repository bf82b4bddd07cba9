"""The editor's web routes (Starlette): the page, the run's classes and dataset labels, and generation.

    GET  /                               the page (static/, served from the package)
    GET  /api/info                       run name, canvas size, classes, style kind, dataset label count
    GET  /api/samples/{i}/thumbnail.png  dataset label i in class colours
    GET  /api/samples/{i}/ids            dataset label i as H×W bytes of class ids
    POST /api/labels/decode              body: a label PNG → its checked class ids as H×W bytes
    POST /api/generate[?seed=N]          body: a label PNG → the generated picture as PNG
                                         (SEAN runs: ?styles=i,j,... the strip image giving each class's style)

A rejected request is answered ``{"error": sentence}`` with a 4xx status; an unexpected failure
with 500 and the same shape. Neither stops the server.
"""
import asyncio
import traceback
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from data.pix2pix_dataset import DONTCARE
from editor.label_codec import decode_label_png, encode_picture_png
from editor.rejection import RejectedRequest

STATIC = Path(__file__).resolve().parent / "static"
LARGEST_BODY = 16 * 2**20


def create_app(opt, engine, samples, classes) -> Starlette:
    """The ASGI application of one run.

    Args:
        opt: the resolved options (name, epoch, label_nc, contain_dontcare_label).
        engine: the ``GeneratorEngine``.
        samples: the ``DatasetLabels`` offered as starting points.
        classes: the palette (``editor.classes.run_classes``).
    """
    dontcare = opt.contain_dontcare_label

    def info(request):
        width, height = engine.size
        palette = [{"id": c.id, "name": c.name, "colour": c.colour,
                    "file_id": DONTCARE if dontcare and c.id == opt.label_nc else c.id} for c in classes]
        return JSONResponse({"name": opt.name, "epoch": opt.which_epoch, "ema": opt.use_ema, "width": width,
                             "height": height, "classes": palette, "style": engine.style.describe(),
                             "samples": samples.count, "samples_note": samples.note})

    def thumbnail(request):
        return Response(samples.thumbnail_png(request.path_params["index"]), media_type="image/png")

    def sample_ids(request):
        return Response(samples.ids(request.path_params["index"]).tobytes(), media_type="application/octet-stream")

    async def decode(request):
        ids = decode_label_png(await limited_body(request), engine.size, opt.label_nc, dontcare)
        return Response(ids.tobytes(), media_type="application/octet-stream")

    async def generate(request):
        ids = decode_label_png(await limited_body(request), engine.size, opt.label_nc, dontcare)
        picture, seconds = await asyncio.wrap_future(engine.submit(ids, dict(request.query_params)))
        return Response(encode_picture_png(picture), media_type="image/png",
                        headers={"X-Generation-Seconds": f"{seconds:.4f}"})

    routes = [
        Route("/", lambda request: FileResponse(STATIC / "index.html")),
        Route("/api/info", info),
        Route("/api/samples/{index:int}/thumbnail.png", answering_errors(thumbnail)),
        Route("/api/samples/{index:int}/ids", answering_errors(sample_ids)),
        Route("/api/labels/decode", answering_errors(decode), methods=["POST"]),
        Route("/api/generate", answering_errors(generate), methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes)


def answering_errors(endpoint):
    """Wrap a route: a ``RejectedRequest`` becomes its status and sentence, anything else a 500 (printed in full)."""

    async def guarded(request):
        try:
            answer = endpoint(request)
            return await answer if asyncio.iscoroutine(answer) else answer
        except RejectedRequest as rejection:
            return JSONResponse({"error": str(rejection)}, status_code=rejection.status)
        except Exception as error:  # the server must outlive any one failed request
            traceback.print_exc()
            return JSONResponse({"error": f"the server failed on this request ({type(error).__name__}: {error}); "
                                          f"it keeps running, and its console has the details."}, status_code=500)

    return guarded


async def limited_body(request: Request) -> bytes:
    """The request body, refused once it passes ``LARGEST_BODY`` bytes."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > LARGEST_BODY:
            raise RejectedRequest(413, f"the request is larger than {LARGEST_BODY // 2**20} MiB; send a label PNG "
                                       f"of the run's size.")
        chunks.append(chunk)
    return b"".join(chunks)
