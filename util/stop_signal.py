"""Ctrl-C, SIGTERM and SIGHUP ask the training loop to save and stop at the next batch boundary."""
import signal


class StopSignal:
    """Installs handlers for SIGINT, SIGTERM and SIGHUP; ``requested`` turns True when one arrives.

    SIGHUP is what a worker gets when its launcher dies (``util.distributed.die_with_launcher``);
    Linux may send it once per thread of the dying launcher, so repeats of it change nothing.
    """

    def __init__(self):
        self.requested = False
        self.signal_name = ""
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._handle)

    def _handle(self, signum, frame):
        if signum == signal.SIGHUP and self.requested:
            return
        if self.requested:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        self.requested = True
        self.signal_name = signal.Signals(signum).name
