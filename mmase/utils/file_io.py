# Copyright (c) mmase contributors. All rights reserved.
"""Small file helpers shared by mmase's datasets and tools.

Every writer here is atomic: the content goes to a temporary file in the
destination directory first and is moved over the destination with
:func:`os.replace`, so a crash never leaves a half-written file behind.
"""
import contextlib
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Any, Callable, Iterable, Iterator, List, Optional


def _tmp_path(path: str, suffix: str = '.tmp') -> str:
    """Create an empty temporary file next to ``path`` and return its name."""
    dirname = osp.dirname(osp.abspath(path))
    os.makedirs(dirname, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix='.' + osp.basename(path) + '.', suffix=suffix, dir=dirname)
    os.close(fd)
    # mkstemp creates the file 0600; give it the mode a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    return tmp


@contextlib.contextmanager
def atomic_file(path: str, suffix: str = '.tmp') -> Iterator[str]:
    """Yield a temporary file name next to ``path``; it replaces ``path``
    when the block finishes without an exception.

    Write the content to the yielded name (``open``, ``fig.savefig``,
    ``onnx.save`` ...). On error the temporary file is removed and ``path``
    keeps its old content (or stays absent).

    Args:
        path (str): Destination file.
        suffix (str): Suffix of the temporary name, for writers that pick
            the format from the extension (e.g. ``'.png'``).
            Defaults to '.tmp'.
    """
    tmp = _tmp_path(path, suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def dump_text_atomic(text: str, path: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically.

    Args:
        text (str): File content, written as is (no newline translation).
        path (str): Destination file.
    """
    with atomic_file(path) as tmp:
        with open(tmp, 'w', encoding='utf-8', newline='') as f:
            f.write(text)


def dump_json_atomic(obj: Any, path: str, indent: int = None) -> None:
    """Write ``obj`` as JSON to ``path`` atomically.

    Args:
        obj (Any): JSON-serialisable object.
        path (str): Destination file.
        indent (int, optional): Passed to :func:`json.dump`.
            Defaults to None (compact).
    """
    with atomic_file(path) as tmp:
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(obj, f, indent=indent, ensure_ascii=False)


def dump_jsonl_atomic(rows: Iterable[dict], path: str) -> None:
    """Write one JSON object per line to ``path`` atomically.

    Args:
        rows (Iterable[dict]): Objects to write.
        path (str): Destination file.
    """
    with atomic_file(path) as tmp:
        with open(tmp, 'w', encoding='utf-8') as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + '\n')


def load_json(path: str, what: str = 'file') -> Any:
    """Load a JSON file with an error message that names the file.

    Args:
        path (str): JSON file.
        what (str): What the file is, for the message. Defaults to 'file'.

    Returns:
        Any: The decoded object.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f'{path}: invalid JSON ({e})') from e


def load_jsonl(path: str,
               check: Optional[Callable[[dict, str], None]] = None,
               errors: Optional[list] = None) -> List[dict]:
    """Load a JSON-lines file; errors name the file and the line number.

    Args:
        path (str): JSONL file.
        check (callable, optional): Called as ``check(row, where)`` for each
            row as it is read (``where`` is ``'<path>:<line>'``), so the
            first bad line in file order is the one reported. Defaults to
            None.
        errors (list, optional): When given, a line that is not a JSON
            object is appended as ``(line, message)`` and skipped instead
            of raising (the dataset doctor lists them all). Defaults to
            None.

    Returns:
        List[dict]: One dict per non-empty line, with its line number in
        ``'__line__'``.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'annotation file not found: {path}')
    rows = []
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            msg, cause = None, None
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                msg, cause = f'invalid JSON ({e})', e
            else:
                if not isinstance(row, dict):
                    msg = f'expected a JSON object, got {type(row).__name__}'
            if msg is not None:
                if errors is None:
                    raise ValueError(f'{path}:{lineno}: {msg}') from cause
                errors.append((lineno, msg))
                continue
            if check is not None:
                check(row, f'{path}:{lineno}')
            row['__line__'] = lineno
            rows.append(row)
    return rows


@contextlib.contextmanager
def atomic_output_dir(out_dir: str, overwrite: bool = True) -> Iterator[str]:
    """Build a whole output directory in a temporary sibling, then swap it in.

    Yields the temporary directory; when the block finishes without an
    exception the old ``out_dir`` (if any) is replaced by it. On error the
    temporary directory is removed and ``out_dir`` is left untouched.

    Args:
        out_dir (str): Final directory.
        overwrite (bool): Replace an existing ``out_dir``. Defaults to True.
    """
    out_dir = osp.abspath(out_dir)
    parent = osp.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    if osp.exists(out_dir) and not overwrite:
        raise FileExistsError(f'output directory exists: {out_dir}')
    tmp = tempfile.mkdtemp(prefix='.' + osp.basename(out_dir) + '.',
                           dir=parent)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    os.chmod(tmp, 0o755)
    old = None
    if osp.exists(out_dir):
        old = tempfile.mkdtemp(prefix='.' + osp.basename(out_dir) + '.old.',
                               dir=parent)
        os.rmdir(old)
        os.replace(out_dir, old)
    os.replace(tmp, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
