"""Open a document named on the command line: a file, or ``GITREV:path`` read with git.

``GITREV:path`` lets a pipeline compare against ``origin/main:api/openapi.yaml`` without
checking anything out; files that document refers to are read from the same revision.
"""

from __future__ import annotations

import posixpath
import subprocess
from pathlib import Path

from stockplane.documents import Document, check_size, load_document, load_text
from stockplane.errors import DocumentError
from stockplane.settings import RegistrySettings

from .diff.compatibility import Side
from .refs import RefResolver

__all__ = ["open_side", "read_document"]


def open_side(spec: str, settings: RegistrySettings) -> Side:
    """Load ``spec`` and check every ``$ref`` in it, ready for diffing."""
    document = read_document(spec, settings)
    if document.path is not None:
        root = document.path.parent

        def open_relative(relative: str) -> Document:
            return load_document(
                root / relative,
                max_bytes=settings.max_document_bytes,
                max_depth=settings.max_nesting_depth,
                source=relative,
            )
    else:
        revision, _, git_path = spec.partition(":")
        folder = posixpath.dirname(git_path)

        def open_relative(relative: str) -> Document:
            return _read_git(revision, posixpath.join(folder, relative), settings)

    return Side(document, RefResolver(document, open_relative=open_relative))


def read_document(spec: str, settings: RegistrySettings) -> Document:
    path = Path(spec)
    if path.exists() or ":" not in spec:
        return load_document(
            path, max_bytes=settings.max_document_bytes, max_depth=settings.max_nesting_depth
        )
    revision, _, git_path = spec.partition(":")
    if not revision or not git_path:
        raise DocumentError(spec, "is neither a file nor GITREV:path")
    return _read_git(revision, git_path, settings)


def _read_git(revision: str, git_path: str, settings: RegistrySettings) -> Document:
    name = f"{revision}:{git_path}"
    size = _git(["cat-file", "-s", name], name).strip()
    if size.isdigit():
        check_size(name, int(size), settings.max_document_bytes)
    raw = _git_bytes(["show", name], name)
    return load_text(
        raw, source=name, max_bytes=settings.max_document_bytes, max_depth=settings.max_nesting_depth
    )


def _git(args: list[str], name: str) -> str:
    return _git_bytes(args, name).decode("utf-8", "replace")


def _git_bytes(args: list[str], name: str) -> bytes:
    try:
        completed = subprocess.run(["git", *args], capture_output=True, check=False, timeout=60)
    except FileNotFoundError:
        raise DocumentError(name, "needs git to read a revision, and git is not installed") from None
    if completed.returncode != 0:
        reason = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = reason[0].removeprefix("fatal: ") if reason else "git could not read it"
        raise DocumentError(name, f"not found in git ({detail})")
    return completed.stdout
