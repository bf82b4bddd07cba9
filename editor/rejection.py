"""The one exception the editor's routes turn into a 4xx answer that the page shows."""


class RejectedRequest(Exception):
    """A request the server will not serve: ``status`` is the HTTP code, the message says why and what to send."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
