"""Running independent jobs over worker processes with one progress bar."""
from multiprocessing import Pool
from typing import Callable, Sequence

from tqdm import tqdm


def run_jobs(function: Callable, jobs: Sequence, workers: int, description: str, unit: str,
             chunksize: int = 4) -> None:
    """Call ``function(job)`` for every job, in ``workers`` processes when more than one, with a progress bar.

    Args:
        function: a picklable top-level function of one argument.
        jobs: its arguments.
        workers: processes to use; 1 runs the jobs in this process.
        description, unit: the progress bar's label and unit.
        chunksize: jobs handed to a worker at a time.
    """
    with tqdm(total=len(jobs), desc=description, unit=unit) as progress:
        if workers > 1 and len(jobs) > 1:
            with Pool(workers) as pool:
                for _ in pool.imap_unordered(function, jobs, chunksize=chunksize):
                    progress.update()
        else:
            for job in jobs:
                function(job)
                progress.update()
