"""The one exception type that reaches the user as a single sentence."""


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
    """Decorate a command's ``main``: a UserError prints ``error: <sentence>`` to stderr and exits with 1."""
    import functools
    import sys

    @functools.wraps(main)
    def command(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except UserError as error:
            if str(error):  # an empty one: another process already said what went wrong
                print(f"error: {user_message(error)}", file=sys.stderr)
            sys.exit(1)

    return command
