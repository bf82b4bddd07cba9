"""Suggesting the option a user most likely meant, for typos in flags and config keys."""
import difflib

# how alike (difflib's ratio) a name must be to a known one to be suggested
SIMILARITY_CUTOFF = 0.6


def closest_name(name: str, known) -> str | None:
    """The known name most like ``name`` (case ignored, leading dashes ignored), or None if none is close.

    Args:
        name: what the user wrote, e.g. ``nitre`` or ``--batchsize``.
        known: the valid names, e.g. option destinations.
    """
    by_folded = {str(k).lstrip("-").lower(): k for k in known}
    matches = difflib.get_close_matches(name.lstrip("-").lower(), list(by_folded), n=1, cutoff=SIMILARITY_CUTOFF)
    return by_folded[matches[0]] if matches else None


def did_you_mean(name: str, known, prefix: str = "--") -> str:
    """`` (did you mean --niter?)`` for the closest known name, or ``""``."""
    closest = closest_name(name, known)
    return f" (did you mean {prefix}{closest}?)" if closest is not None else ""
