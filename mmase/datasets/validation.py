# Copyright (c) mmase contributors. All rights reserved.
"""Turn data problems into one clear error.

The loaders, converters and tools share two rules:

* a problem found while reading data stops the run with one
  :class:`ValueError` that names the file, the item and the field (never a
  silently dropped or repaired annotation, never a half-written output);
* the full list of problems, and a cleaned copy, come from the dataset
  doctor (``tools/data/check_dataset.py``), which the message points to.
"""
import math
from typing import Iterable, Optional, Sequence

#: How many problems one error message lists before "... and N more".
MAX_LISTED = 5


def raise_for_problems(problems: Sequence,
                       what: str,
                       hint: Optional[str] = None) -> None:
    """Raise one :class:`ValueError` listing the first problems, if any.

    Args:
        problems (Sequence): :class:`mmase.datasets.doctor.Problem` objects
            (or anything whose ``str`` reads ``file: item: field: message``).
        what (str): What was being read, e.g. the annotation file name.
        hint (str, optional): Appended to the message. Defaults to None,
            which points to ``tools/data/check_dataset.py``.

    Raises:
        ValueError: When ``problems`` is not empty.
    """
    problems = list(problems)
    if not problems:
        return
    lines = [f'  {p}' for p in problems[:MAX_LISTED]]
    if len(problems) > MAX_LISTED:
        lines.append(f'  ... and {len(problems) - MAX_LISTED} more')
    if hint is None:
        hint = (f'Run `python tools/data/check_dataset.py {what}` for the '
                f'full list; `--fix-to` writes a cleaned copy.')
    raise ValueError(f'{what}: {len(problems)} problem(s) in the data:\n' +
                     '\n'.join(lines) + '\n' + hint)


def check_box_xyxy(box: Iterable[float],
                   width: float,
                   height: float,
                   where: str,
                   tol: float = 1.0) -> None:
    """Check one ``[x0, y0, x1, y1]`` pixel box against its image.

    A box may exceed the image by ``tol`` pixels (rounding of the source
    format); beyond that it is an error, not a silent clip, because a box
    far outside usually means wrong units (pixels given where normalised
    coordinates are expected, or the reverse).

    Args:
        box (Iterable[float]): ``x0, y0, x1, y1``.
        width (float): Image width.
        height (float): Image height.
        where (str): File and item for the message, e.g. ``"a.txt:3"``.
        tol (float): Pixels a box may exceed the image. Defaults to 1.0.

    Raises:
        ValueError: NaN/infinite coordinates, zero or negative area, or a
            box outside the image.
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        raise ValueError(f'{where}: field "bbox": NaN or infinite '
                         f'coordinate in {[x0, y0, x1, y1]}')
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f'{where}: field "bbox": zero or negative area '
                         f'{[x0, y0, x1, y1]}')
    if x0 < -tol or y0 < -tol or x1 > width + tol or y1 > height + tol:
        raise ValueError(f'{where}: field "bbox": {[x0, y0, x1, y1]} is '
                         f'outside the {width}x{height} image')


def sample_error(err: Exception, where: str) -> Exception:
    """The exception ``err`` of loading one sample, with ``where`` first.

    Image loading and the other transforms know the image path at most; the
    datasets put the annotation file and the item in front so the error
    names the record to fix. The exception type is kept when it can be
    built from one message (``FileNotFoundError``, ``ValueError``, ...), so
    callers catching it still do; otherwise a ``RuntimeError`` is returned.

    Args:
        err (Exception): The error raised while loading the sample.
        where (str): Annotation file and item, e.g.
            ``'ann.json: image id=3 (images/3.png)'``.

    Returns:
        Exception: The error to raise (``raise sample_error(e, w) from e``).
    """
    msg = f'{where}: {err}'
    if isinstance(err, OSError) and err.filename is not None:
        # OSError(errno, strerror, filename) formats itself; keep the path
        msg = f'{where}: {err.strerror or err}: {err.filename}'
    try:
        return type(err)(msg)
    except Exception:
        return RuntimeError(f'{where}: {type(err).__name__}: {err}')


class NamedSampleErrors:
    """Dataset mixin: an error raised while loading a sample is re-raised
    with its annotation record in front (see :func:`sample_error`).

    Put it before the dataset base class; the dataset implements
    :meth:`_sample_where`.
    """

    def _sample_where(self, info: dict) -> str:
        """Annotation file and item of the data info ``info``."""
        raise NotImplementedError

    def prepare_data(self, idx: int):
        """Run the pipeline on sample ``idx``; errors name its record."""
        try:
            return super().prepare_data(idx)
        except Exception as err:
            where = self._sample_where(self.get_data_info(idx))
            raise sample_error(err, where) from err
