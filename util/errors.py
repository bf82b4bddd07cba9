"""The one exception type that reaches the user as a single sentence, and the decorator that prints it."""
import errno
import functools
import sys

# file-system errors that come from the user's machine, not from a bug: reported as one sentence
ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR,
                      errno.EISDIR, errno.ENOENT}


class UserError(Exception):
    """Bad input found where it was first seen: the message names the culprit and the fix."""


def user_message(error: BaseException) -> str:
    """The user-facing sentence of a UserError, also when a DataLoader worker re-raised it.

    A worker wraps the original message in "Caught UserError in DataLoader worker ...
    Original Traceback ...", so the sentence is the text after the last "UserError: ".
    """
    text = str(error)
    marker = f"{UserError.__name__}: "
    if text.startswith("Caught ") and marker in text:
        text = text.rsplit(marker, 1)[1]
    return text.strip()


def exits_on_user_error(main):
    """Decorate a command's ``main``: a UserError (or a file-system error of the machine, such as a full disk or a
    missing permission) prints ``error: <sentence>`` to stderr and exits with 1."""

    @functools.wraps(main)
    def command(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except UserError as error:
            # an empty message: another process already said what went wrong
            _stop(f"error: {user_message(error)}" if str(error) else "")
        except OSError as error:
            if error.errno not in ENVIRONMENT_ERRNOS or not error.filename:
                raise
            _stop(f"error: {error.strerror}: {error.filename}; check the path, its permissions and the free space, "
                  f"then run the command again.")

    return command


def _stop(sentence: str):
    """Close open progress bars (so that none redraws after it), print the sentence (if any) to stderr, exit with 1."""
    if "tqdm" in sys.modules:
        for bar in list(getattr(sys.modules["tqdm"].tqdm, "_instances", ())):
            bar.close()
    if sentence:
        print(sentence, file=sys.stderr)
    sys.exit(1)
