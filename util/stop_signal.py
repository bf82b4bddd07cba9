"""Ctrl-C and SIGTERM ask the training loop to save and stop at the next batch boundary."""
import signal


class StopSignal:
    """Installs handlers for SIGINT and SIGTERM; ``requested`` turns True when one arrives."""

    def __init__(self):
        self.requested = False
        self.signal_name = ""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, signum, frame):
        if self.requested:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        self.requested = True
        self.signal_name = signal.Signals(signum).name
