"""Write a file atomically: a temp file beside the target, fsync, then ``os.replace``."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from imagehunt.errors import UsageError


def write_atomic(target: Path, write: Callable[[TextIO], None]) -> None:
    """Call ``write`` on a UTF-8 text file (``newline=""``) that replaces ``target`` on success.

    On any error the temp file is removed and ``target`` is left as it was. New files get the
    usual umask permissions; an existing target keeps its mode. A file that cannot be written
    (missing folder, no permission, a folder in the way, a full disk) is a UsageError naming it.
    """
    target = Path(os.path.realpath(target))
    try:
        tmp, fd = _create_temp(target)
    except OSError as exc:
        raise _cannot_write(target, exc) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _cannot_write(target, exc) from None
        raise
    _fsync_dir(target.parent)


def _cannot_write(target: Path, exc: OSError) -> UsageError:
    return UsageError(
        f"cannot write the output: {exc.strerror or exc}",
        file=target,
        hint="check that the folder exists and is writable",
    )


def write_output(output: Path | None, write: Callable[[TextIO], None]) -> None:
    """``write`` to stdout, or atomically to ``output`` when one is given (``-o FILE``)."""
    if output is None:
        write(sys.stdout)
    else:
        write_atomic(output, write)


def _create_temp(target: Path) -> tuple[Path, int]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            return tmp, os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable where the platform allows opening a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
