import util  # noqa: F401  (checks the Python version first)
