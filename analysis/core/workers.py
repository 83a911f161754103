"""Worker processes: the one way the suite starts them.

Workers come from a fork server when the platform has one (a clean, single-threaded parent that imports the
named modules once, so workers start in milliseconds and inherit no thread of the calling process, whose
Arrow or progress-bar threads a plain fork would copy in an unknown state), else they are spawned.
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool


def context(preload: list[str]):
    """A multiprocessing context whose workers have imported ``preload`` (module names) once."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(preload)
        return ctx
    return multiprocessing.get_context("spawn")


def cores() -> int:
    """The cores this process may use (its CPU affinity where the platform reports it)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:          # not on Linux
        return os.cpu_count() or 1


def ordered_map(function, items: list, jobs: int, preload: list[str], done=None):
    """``function(item)`` for each item, yielded in the items' order; in ``jobs`` worker processes when
    ``jobs`` > 1 and there is more than one item, else in this process. ``done(item)`` is called as each
    result is yielded (for a progress bar). A worker that dies (killed, out of memory) raises
    :class:`WorkerLost`."""
    if jobs <= 1 or len(items) <= 1:
        for item in items:
            result = function(item)
            if done is not None:
                done(item)
            yield result
        return
    with ProcessPoolExecutor(max_workers=min(jobs, len(items)), mp_context=context(preload)) as pool:
        futures = [pool.submit(function, item) for item in items]
        try:
            for item, future in zip(items, futures):
                result = future.result()
                if done is not None:
                    done(item)
                yield result
        except BrokenProcessPool as exc:
            raise WorkerLost("a worker process stopped before finishing its part (it may have run out of "
                             "memory); run again with fewer jobs") from exc
        finally:
            for future in futures:
                future.cancel()


class WorkerLost(RuntimeError):
    """A worker process ended without returning its result."""
