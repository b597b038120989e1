"""Atomic file writing: write to a temporary file beside the target, then rename.

A crash, SIGKILL or full disk never leaves a partial file under the final name. A temporary file is
named ``.msanet-tmp-<pid>-<host>-<random><suffixes>``; one whose writer (same host, that pid) is no
longer running is left over from a killed run and is removed the next time msanet writes into that folder.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

from msanet.errors import OutputError

TMP_PREFIX = ".msanet-tmp-"
HOST_TAG = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]  # names this host in temp file names


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        pass
    return True


def remove_stale_temps(folder: str | os.PathLike) -> list[Path]:
    """Delete temporary files in ``folder`` left by msanet processes of this host that are gone.

    Files of running writers, of other hosts (shared file systems) and of unknown format are kept.
    Returns the removed paths.
    """
    removed = []
    for tmp in Path(folder).glob(TMP_PREFIX + "*"):
        fields = tmp.name[len(TMP_PREFIX):].split("-", 2)
        if len(fields) < 3 or not fields[0].isdigit() or fields[1] != HOST_TAG or _pid_alive(int(fields[0])):
            continue
        try:
            tmp.unlink()
            removed.append(tmp)
        except OSError:  # raced with another cleaner, or not ours to delete: leave it
            pass
    return removed


def _output_error(path: Path, exc: OSError) -> OutputError:
    if exc.errno == errno.ENOSPC:
        return OutputError(f"{path}: disk full while writing")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputError(f"{path}: output location is not writable")
    return OutputError(f"{path}: cannot write ({exc.strerror or exc})")


def ensure_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` (and parents) as a directory; OutputError if impossible."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _output_error(path, exc) from None
    if not os.access(path, os.W_OK):
        raise OutputError(f"{path}: output folder is not writable")
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    The temporary file keeps the target's suffixes (``.nii.gz``, ``.png``...) so writers that
    look at the extension behave. On any exception the temporary file is removed.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputError(f"{path}: already exists (use --overwrite to replace it)")
    ensure_dir(path.parent)
    remove_stale_temps(path.parent)
    suffix = "".join(path.suffixes) or ".tmp"
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{os.getpid()}-{HOST_TAG}-", suffix=suffix, dir=path.parent)
    except OSError as exc:
        raise _output_error(path, exc) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file normal permissions
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _output_error(path, exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes (64 hex digits), read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_bytes(path: str | os.PathLike, data: bytes, overwrite: bool = True) -> Path:
    """Atomically write ``data`` to ``path``."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str, overwrite: bool = True) -> Path:
    """Atomically write ``text`` (UTF-8) to ``path``."""
    return write_bytes(path, text.encode("utf-8"), overwrite=overwrite)
