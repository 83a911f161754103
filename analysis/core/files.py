"""Atomic file writes and content hashes: the one home of both.

A reader, or a later run after a crash, sees either the old complete file or the new complete one: every
file the suite writes goes through a temporary name in the same folder and an atomic rename.
"""
from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed onto ``path`` when the block ends normally.

    On an exception the temporary file is removed and ``path`` is left as it was.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "table.csv"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("a,b\\n")
    >>> target.read_text()
    'a,b\\n'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically, flushed to disk before the rename."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
    return Path(path)


def write_parquet(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` to ``path`` as Parquet, atomically."""
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)
    return Path(path)


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, read a megabyte at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_files(paths, jobs: int = 1) -> list[str]:
    """:func:`sha256_file` of each path, in order, ``jobs`` at a time (in threads: the hash releases the
    interpreter lock on large blocks, so the files are hashed on as many cores)."""
    paths = list(paths)
    if jobs <= 1 or len(paths) <= 1:
        return [sha256_file(p) for p in paths]
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=min(jobs, len(paths))) as pool:
        return list(pool.map(sha256_file, paths))


def tree_hash(root: str | Path, patterns: tuple[str, ...]) -> tuple[str, int]:
    """SHA-256 over the files under ``root`` matching ``patterns``, in sorted order of relative path.

    Each file contributes its relative path and its content hash, so renaming a file changes the hash.
    Hidden files (temporary files of an interrupted write) and ``__pycache__`` are ignored. Returns
    ``(hexdigest, n_files)``.
    """
    root = Path(root)
    files = sorted({p for pattern in patterns for p in root.rglob(pattern) if p.is_file()
                    and not any(part.startswith(".") or part == "__pycache__"
                                for part in p.relative_to(root).parts)},
                   key=lambda p: p.relative_to(root).as_posix())
    digest = hashlib.sha256()
    for p in files:
        digest.update(p.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(sha256_file(p).encode("ascii") + b"\n")
    return digest.hexdigest(), len(files)


def text_hash(*parts: str) -> str:
    """SHA-256 of text parts, each followed by a separator so that ("ab", "c") and ("a", "bc") differ."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8") + b"\0")
    return digest.hexdigest()
