"""A minimal HTML gallery page: headers and rows of linked pictures (results/ and web/ pages)."""
import html
import time
from pathlib import Path

from util.files import atomic_write_bytes


class HTMLPage:
    """Collects headers and picture rows, then writes ``index.html`` into ``folder``.

    Args:
        folder: where ``index.html`` goes; picture paths are relative to it.
        title: page title.
        refresh: seconds between automatic reloads (0: none), for pages watched during training.
    """

    def __init__(self, folder, title: str, refresh: int = 0):
        self.folder, self.title, self.refresh = Path(folder), title, refresh
        self.body: list[str] = []

    def add_header(self, text: str) -> None:
        self.body.append(f"<h3>{html.escape(text)}</h3>")

    def add_images(self, pictures: list[tuple[str, str]], width: int) -> None:
        """One table row of (relative path, caption) pictures, each linked to the full-size file."""
        cells = "".join(
            f'<td style="word-wrap: break-word;" halign="center" valign="top"><p>'
            f'<a href="{html.escape(path)}"><img style="width:{width}px" src="{html.escape(path)}"></a><br>'
            f"<span>{html.escape(caption)}</span></p></td>"
            for path, caption in pictures)
        self.body.append(f'<table border="1" style="table-layout: fixed;"><tr>{cells}</tr></table>')

    def save(self) -> Path:
        refresh = f'<meta http-equiv="refresh" content="{self.refresh}">' if self.refresh else ""
        page = (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\">{refresh}<title>{html.escape(self.title)}</title>"
                f"</head><body><h1>{html.escape(self.title)}</h1><p>{time.strftime('%c')}</p>"
                + "\n".join(self.body) + "</body></html>\n")
        path = self.folder / "index.html"
        atomic_write_bytes(path, page.encode())
        return path
