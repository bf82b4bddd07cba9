"""Ctrl-C, SIGTERM and SIGHUP ask the training loop to save and stop at the next batch boundary.

A second signal does not cut the save short: it says that the run is saving and will stop. Only a
third aborts at once; files are written atomically, so what was saved before stays whole (a file
being written is left as a temporary, removed when the run is next started).
"""
import os
import signal

ABORT_EXIT_CODE = 130  # the shell's code for a run ended by SIGINT


class StopSignal:
    """Installs handlers for SIGINT, SIGTERM and SIGHUP; ``requested`` turns True when one arrives.

    SIGHUP is what a worker gets when its launcher dies (``util.distributed.die_with_launcher``);
    Linux may send it once per thread of the dying launcher, so repeats of it change nothing.
    """

    def __init__(self):
        self.requested = False
        self.signal_name = ""
        self.count = 0
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._handle)

    def _handle(self, signum, frame):
        if signum == signal.SIGHUP and self.requested:
            return
        self.count += 1
        if self.count == 1:
            self.requested = True
            self.signal_name = signal.Signals(signum).name
        elif self.count == 2:
            _say("stopping: the checkpoint is saved first, then the run ends; a third Ctrl-C aborts without waiting "
                 "(checkpoints saved before stay intact)")
        else:
            _say("aborted: the latest complete checkpoint is kept; resume with --continue_train")
            raise SystemExit(ABORT_EXIT_CODE)


def _say(message: str) -> None:
    # os.write, not print: a handler may interrupt a print to the same stream
    os.write(2, f"\n{message}\n".encode())
