"""Shared helpers. Importing the package first checks the Python version, with a clear message.

Every package's ``__init__`` imports ``util`` before anything else, so this runs before any module
written for Python 3.10 (``X | None`` annotations, ``zip(strict=True)``) is loaded. Keep this file
free of newer syntax.
"""
import sys

REQUIRED_PYTHON = (3, 10)

if sys.version_info < REQUIRED_PYTHON:
    sys.exit("error: this project needs Python {}.{} or newer, but runs on Python {}.{}; create the virtual "
             "environment with a newer python3 (see README).".format(*REQUIRED_PYTHON, *sys.version_info[:2]))
