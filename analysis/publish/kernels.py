"""Warm Jupyter kernels: one live kernel per worker thread, reused from one notebook to the next.

Starting a kernel and importing pandas, matplotlib, seaborn and statsmodels costs a few seconds, often more
than rendering a per-region notebook that only reads its slice of precomputed results. The ``"warm"``
papermill engine registered here keeps one kernel alive per worker thread and, before each notebook,
returns it to the state of a freshly started kernel:

* the user namespace, the output history and the execution counter are reset
  (``get_ipython().reset(new_session=True)``, which is ``%reset -f`` plus a counter reset, so the
  executed notebook carries the same execution counts as one run on a fresh kernel), then
  ``gc.collect()``;
* open figures are closed; matplotlib's rc parameters, pandas options, NumPy print options, warning
  filters, ``sys.path`` and ``os.environ`` are restored to what they were when the kernel started;
* the working directory is set to the one papermill would give a fresh kernel.

Imported modules stay imported: that is the saving. The kernel is replaced after a timeout, after it
died, after :data:`MAX_RUNS` notebooks (to bound memory growth), or when its notebook needs another
kernel. Any failure of the engine itself (not of the notebook's code) falls back to papermill's own
engine, which starts a fresh kernel.

Both engines also remember the notebook they were running (:func:`last_notebook`), so that a caller
can still render what a notebook printed before it timed out or its kernel was killed.

Examples
--------
>>> import papermill as pm
>>> from analysis.publish import kernels
>>> kernels.register()
>>> pm.execute_notebook("in.ipynb", "out.ipynb", engine_name="warm")  # doctest: +SKIP
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
from contextlib import suppress
from subprocess import TimeoutExpired

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import Engine, NBClientEngine, papermill_engines
from papermill.utils import merge_kwargs, remove_args

log = logging.getLogger(__name__)

#: Notebooks run on one kernel before it is replaced by a fresh one.
MAX_RUNS = 25
#: Seconds allowed for resetting a kernel between notebooks; longer means the kernel is unwell.
RESET_TIMEOUT = 60
#: Arguments for every kernel started here: keep history in memory (no shared sqlite file between
#: parallel kernels) and silence the start-up warning about TCP transport printed once per kernel.
KERNEL_ARGUMENTS = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]

# Runs inside the kernel once, when it starts: it records the state of a fresh kernel in a module
# that survives namespace resets, so that each notebook can start from that state again.
_KERNEL_SIDE = r'''
import copy, gc, os, sys, warnings

def snapshot():
    global _rc, _np_print, _filters, _path, _environ
    try:
        import matplotlib
        import matplotlib.pyplot
        # load the backend now (a fresh kernel does so at its first figure): the inline backend then
        # switches interactive mode on and sets its rc parameters, which the snapshot must include
        matplotlib.pyplot.switch_backend(matplotlib.rcParams["backend"])
        _rc = copy.deepcopy(dict(matplotlib.rcParams))
    except ImportError:
        _rc = None
    try:
        import numpy
        _np_print = numpy.get_printoptions()
    except ImportError:
        _np_print = None
    _filters = list(warnings.filters)
    _path = list(sys.path)
    _environ = dict(os.environ)

def restore(cwd):
    get_ipython().reset(new_session=True)
    if _rc is not None:
        import matplotlib, matplotlib.pyplot
        matplotlib.pyplot.close("all")
        dict.update(matplotlib.rcParams, copy.deepcopy(_rc))
    if "pandas" in sys.modules:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sys.modules["pandas"].reset_option("all")
    if _np_print is not None:
        sys.modules["numpy"].set_printoptions(**_np_print)
    warnings.filters[:] = _filters
    getattr(warnings, "_filters_mutated", lambda: None)()
    sys.path[:] = _path
    os.environ.clear()
    os.environ.update(_environ)
    os.chdir(cwd)
    gc.collect()
'''

_START = (
    "import sys as _s, types as _t\n"
    "_m = _t.ModuleType('_warm_state')\n"
    f"exec({_KERNEL_SIDE!r}, _m.__dict__)\n"
    "_s.modules['_warm_state'] = _m\n"
    "_m.snapshot()\n"
    "del _s, _t, _m\n"
)
_RESET = "__import__('_warm_state').restore({cwd!r})\n"


class WarmKernel:
    """One live kernel and the count of notebooks it has run."""

    def __init__(self, kernel_name: str, start_timeout: float = 60):
        self.kernel_name = kernel_name
        self.runs = 0
        self.km = AsyncKernelManager(kernel_name=kernel_name)
        run_sync(self.km.start_kernel)(extra_arguments=list(KERNEL_ARGUMENTS))
        try:
            self._execute(_START, start_timeout)
        except BaseException:
            self.kill()
            raise

    def alive(self) -> bool:
        proc = getattr(self.km.provisioner, "process", None)
        return proc is not None and proc.poll() is None

    def client(self, timeout: float = RESET_TIMEOUT):
        """A started client whose channels the caller stops (:meth:`release`)."""
        kc = self.km.client()
        kc.start_channels()
        try:
            run_sync(kc.wait_for_ready)(timeout=timeout)
        except BaseException:
            kc.stop_channels()
            raise
        kc.allow_stdin = False
        return kc

    @staticmethod
    def release(kc) -> None:
        with suppress(Exception):
            kc.stop_channels()

    def _execute(self, code: str, timeout: float) -> None:
        kc = self.client(timeout)
        try:
            self.run_code(kc, code, timeout)
        finally:
            self.release(kc)

    @staticmethod
    def run_code(kc, code: str, timeout: float) -> None:
        """Run ``code`` silently (no history, no output, no execution count); raise if it fails."""
        reply = run_sync(kc.execute_interactive)(code, silent=True, store_history=False, timeout=timeout,
                                                 output_hook=lambda msg: None)
        content = reply["content"]
        if content["status"] != "ok":
            raise RuntimeError(f"resetting the kernel failed: {content.get('ename')}: {content.get('evalue')}")

    def reset(self, kc, cwd: str) -> None:
        self.run_code(kc, _RESET.format(cwd=cwd), RESET_TIMEOUT)

    def kill(self) -> None:
        """Stop the kernel process at once; its state is of no further use."""
        proc = getattr(self.km.provisioner, "process", None) if self.km.provisioner else None
        if proc is not None and proc.poll() is None:
            proc.kill()
            with suppress(TimeoutExpired):
                proc.wait(timeout=10)
        with suppress(Exception):
            self.km._close_control_socket()
        with suppress(Exception):
            self.km.cleanup_connection_file()


# One kernel per thread: a Dask worker may run several tasks at once in threads of one process.
_KERNELS: dict[int, WarmKernel] = {}
_LOCK = threading.Lock()
_LAST = threading.local()


def last_notebook():
    """The notebook node the engine of this thread ran last (partly executed if it was interrupted)."""
    return getattr(_LAST, "nb", None)


def forget_last() -> None:
    """Clear :func:`last_notebook`, so that a failure before any engine starts finds no stale notebook."""
    _LAST.nb = None


def _acquire(kernel_name: str, start_timeout: float) -> WarmKernel:
    key = threading.get_ident()
    with _LOCK:
        kernel = _KERNELS.get(key)
    if kernel is not None and (kernel.kernel_name != kernel_name or not kernel.alive()):
        _discard()
        kernel = None
    if kernel is None:
        kernel = WarmKernel(kernel_name, start_timeout)
        with _LOCK:
            _KERNELS[key] = kernel
    return kernel


def _discard() -> None:
    """Kill and forget this thread's kernel."""
    with _LOCK:
        kernel = _KERNELS.pop(threading.get_ident(), None)
    if kernel is not None:
        kernel.kill()


def shutdown_all() -> int:
    """Kill every warm kernel of this process; return how many there were."""
    with _LOCK:
        kernels = list(_KERNELS.values())
        _KERNELS.clear()
    for kernel in kernels:
        kernel.kill()
    return len(kernels)


def _client_kwargs(kernel_name, log_output, stdout_file, stderr_file, start_timeout, execution_timeout,
                   kwargs) -> dict:
    # The same translation papermill's own engine applies, so both engines honour the same options.
    safe = remove_args(["timeout", "startup_timeout", "input_path"], **kwargs)
    return merge_kwargs(safe, timeout=execution_timeout or kwargs.get("timeout"), startup_timeout=start_timeout,
                        kernel_name=kernel_name, log=log, log_output=log_output, stdout_file=stdout_file,
                        stderr_file=stderr_file)


class PlainEngine(NBClientEngine):
    """Papermill's own engine (a fresh kernel per notebook) that remembers the notebook it runs."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):
        _LAST.nb = nb_man.nb
        kwargs.setdefault("extra_arguments", list(KERNEL_ARGUMENTS))
        kwargs.setdefault("shutdown_kernel", "immediate")  # the outputs are in; no need to wait for it
        return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)


class WarmEngine(Engine):
    """Papermill engine running each notebook on this thread's warm kernel (see the module notes)."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                 stderr_file=None, start_timeout=60, execution_timeout=None, **kwargs):
        _LAST.nb = nb_man.nb

        def fresh():  # the fallback whenever the warm kernel, not the notebook, fails
            return PlainEngine.execute_managed_notebook(
                nb_man, kernel_name, log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file,
                start_timeout=start_timeout, execution_timeout=execution_timeout, **kwargs)

        try:
            kernel = _acquire(kernel_name, start_timeout)
            kc = kernel.client(start_timeout)
        except Exception as exc:  # the engine failed, not the notebook: use a fresh kernel instead
            log.warning("warm kernel unavailable (%s); using a fresh kernel", exc)
            _discard()
            return fresh()
        # the folder a fresh kernel would start in: nbclient's ``resources.metadata.path``, else ours
        cwd = (kwargs.get("resources") or {}).get("metadata", {}).get("path") or os.getcwd()
        try:
            kernel.reset(kc, str(cwd))
        except Exception as exc:
            log.warning("warm kernel could not be reset (%s); using a fresh kernel", exc)
            WarmKernel.release(kc)
            _discard()
            return fresh()
        client = PapermillNotebookClient(
            nb_man, km=kernel.km,
            **_client_kwargs(kernel_name, log_output, stdout_file, stderr_file, start_timeout,
                             execution_timeout, kwargs))
        client.kc = kc
        try:
            result = client.execute()
        except (CellTimeoutError, DeadKernelError):
            _discard()  # a timed-out kernel is still busy; a dead one is gone: report, do not re-run
            raise
        except Exception as exc:  # the engine failed while the notebook ran: re-run it on a fresh kernel
            log.warning("warm kernel failed (%s); re-running on a fresh kernel", exc)
            WarmKernel.release(kc)
            _discard()
            return fresh()
        except BaseException:
            _discard()
            raise
        finally:
            WarmKernel.release(kc)
        kernel.runs += 1
        if kernel.runs >= MAX_RUNS:
            _discard()
        return result


def register() -> None:
    """Register the ``"warm"`` and ``"plain"`` papermill engines in this process (idempotent)."""
    papermill_engines.register("warm", WarmEngine)
    papermill_engines.register("plain", PlainEngine)


def init_worker() -> None:
    """Initializer of a worker process: register the engines and kill this process's kernels at exit."""
    register()
    atexit.register(shutdown_all)
    # Pool workers leave through multiprocessing, which runs its own finalizers rather than atexit's.
    from multiprocessing import util
    util.Finalize(None, shutdown_all, exitpriority=100)


register()
