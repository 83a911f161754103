import os
import sys

# Work is spread over processes (one per core); a multi-threaded BLAS in each would oversubscribe the cores.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from analysis.publish.cli import main  # noqa: E402

sys.exit(main())
