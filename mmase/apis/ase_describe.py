# Copyright (c) mmase contributors. All rights reserved.
"""VLM-LLM descriptor pipeline of the ASE paper (Fig. 2, Fig. 3 left).

A vision-language model (VLM) describes the dot pattern of each AOI image
with a prompt; a causal language model (LLM) then combines that description
with the record fields of the sample and optional prior knowledge about the
classes into a short, class-oriented descriptor. Neither model is fine-tuned
(zero-shot prompting, as in the paper). The descriptors are cached in a JSONL
file ``{"img_path": ..., "description": ...}`` that ``ASEDataset`` merges
through its ``description_file`` argument.

Backends:

- ``'vlm_llm'``: VLM description, then LLM combination (the paper's
  pipeline);
- ``'vlm'``: the VLM description only;
- ``'measure'``: no model; :class:`MeasureDescriber` measures the dots of
  the image (:mod:`mmase.apis.ase_measure`) and says in words where they
  are denser, paler or missing, or shifted: a deterministic stand-in for a
  VLM that carries information from the pixels into the text branch;
- ``'record'``: no model; the descriptor is the ``record_descriptor.txt``
  template filled from the record (restates the record in words; it adds
  nothing the record does not hold).

The prompt templates ship in the package (``mmase/resources/ase_prompts``,
read through :mod:`importlib.resources`).

The cache is rewritten atomically (temporary file + ``os.replace``) after
every ``flush_every`` batches, and a run skips every image already in the
cache, so an interrupted run resumes where it stopped (a cache whose last
line was cut resumes from the lines before it).
"""
import json
import os.path as osp
import warnings
from collections import OrderedDict
from importlib import resources
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np

from mmase.utils.file_io import dump_jsonl_atomic, load_jsonl

#: Package folder of the prompt templates (``mmase/resources/ase_prompts``).
PROMPT_RESOURCE = ('resources', 'ase_prompts')


def packaged_prompts() -> List[str]:
    """Names of the prompt files shipped with mmase."""
    folder = resources.files('mmase').joinpath(*PROMPT_RESOURCE)
    return sorted(p.name for p in folder.iterdir()
                  if p.is_file() and p.name.endswith('.txt'))


def load_template(path: str) -> str:
    """Read a prompt template (trailing newline stripped).

    Args:
        path (str): A file, or the bare name of a packaged prompt
            (``'vlm_describe.txt'``, see :func:`packaged_prompts`).

    Returns:
        str: The template.
    """
    if osp.isfile(path):
        with open(path, encoding='utf-8') as f:
            return f.read().rstrip('\n')
    if osp.basename(path) == path:
        res = resources.files('mmase').joinpath(*PROMPT_RESOURCE, path)
        if res.is_file():
            return res.read_text(encoding='utf-8').rstrip('\n')
    raise FileNotFoundError(
        f'prompt template not found: {path} (neither a file nor one of the '
        f'packaged prompts {packaged_prompts()})')


def format_record(record: Optional[dict]) -> str:
    """``{"a": 1, "b": "x"}`` -> ``"a: 1; b: x"`` (None values skipped)."""
    if not record:
        return ''
    parts = []
    for key, value in record.items():
        if value is None or value == '':
            continue
        if isinstance(value, float):
            value = f'{value:.4g}'
        parts.append(f'{key}: {value}')
    return '; '.join(parts)


def _check_annotation(obj: dict, where: str) -> None:
    if 'img_path' not in obj:
        raise ValueError(f'{where}: missing field "img_path"')
    if not isinstance(obj.get('record', {}) or {}, dict):
        raise ValueError(f'{where}: field "record" must be an object')


def _check_cache_line(obj: dict, where: str) -> None:
    if 'label' in obj or 'record' in obj:
        raise ValueError(f'{where}: has a "label" / "record" field: this is '
                         'an annotation file, not a descriptor cache')
    if not isinstance(obj.get('img_path'), str) or not isinstance(
            obj.get('description'), str):
        raise ValueError(f'{where}: not a descriptor cache line '
                         '{"img_path": "...", "description": "..."}')


def read_annotations(data_root: str, ann_files: Sequence[str]) -> List[dict]:
    """Read ASE JSONL annotation files.

    Args:
        data_root (str): Dataset root (image paths are relative to it).
        ann_files (Sequence[str]): JSONL files, relative to ``data_root`` or
            absolute.

    Returns:
        list[dict]: Unique items (first occurrence wins) with ``img_path``
        (as written in the JSONL), ``abs_path``, ``record`` and
        ``description``.
    """
    items: 'OrderedDict[str, dict]' = OrderedDict()
    for ann in ann_files:
        path = ann if osp.isabs(ann) else osp.join(data_root, ann)
        for obj in load_jsonl(path, check=_check_annotation):
            img_path = str(obj['img_path'])
            if img_path in items:
                continue
            items[img_path] = dict(
                img_path=img_path,
                abs_path=img_path if osp.isabs(img_path) else osp.join(
                    data_root, img_path),
                record=obj.get('record', {}) or {},
                description=str(obj.get('description', '') or ''))
    return list(items.values())


def load_cache(path: str) -> 'OrderedDict[str, str]':
    """Read a descriptor cache; a missing file is an empty cache.

    Args:
        path (str): JSONL cache.

    Returns:
        OrderedDict[str, str]: img_path -> description.
    """
    cache: 'OrderedDict[str, str]' = OrderedDict()
    if not osp.isfile(path):
        return cache
    with open(path, encoding='utf-8') as f:
        lines = f.read().split('\n')
    last = max((i for i, line in enumerate(lines) if line.strip()),
               default=-1)
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        where = f'{path}:{i + 1}'
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            if i == last:  # a cut last line (killed copy, full disk)
                warnings.warn(f'{where}: last line is not complete JSON; '
                              f'resuming from the {len(cache)} lines before '
                              'it (that image is described again)')
                break
            raise ValueError(f'{where}: invalid JSON ({e})') from e
        if not isinstance(obj, dict):
            raise ValueError(f'{where}: expected a JSON object')
        _check_cache_line(obj, where)
        cache[obj['img_path']] = obj['description']
    return cache


def check_output_path(out_file: str, inputs: Iterable[str]) -> None:
    """Refuse an output path that is one of the run's inputs.

    Args:
        out_file (str): The cache to write.
        inputs (Iterable[str]): Every file the run reads (annotation files,
            meta.json, prompts, images).

    Raises:
        ValueError: ``out_file`` is a folder or one of ``inputs``.
    """
    if osp.isdir(out_file):
        raise ValueError(f'--out {out_file} is a folder; give a .jsonl file')
    real = osp.realpath(out_file)
    for path in inputs:
        if path and osp.realpath(path) == real:
            raise ValueError(
                f'--out {out_file} is an input of this run ({path}); '
                'writing the cache there would replace it. Choose another '
                'file (default: <data_root>/descriptions.jsonl)')


def write_cache(path: str, cache: Dict[str, str]) -> None:
    """Write the cache atomically (temporary file in the same directory).

    Args:
        path (str): Output JSONL.
        cache (dict): img_path -> description.
    """
    dump_jsonl_atomic(
        (dict(img_path=img_path, description=desc)
         for img_path, desc in cache.items()), path)


def _clean(text: str, max_chars: int) -> str:
    """One line, stripped, cut at ``max_chars`` on a word boundary."""
    text = ' '.join(text.replace('\n', ' ').split())
    if len(text) > max_chars:
        cut = text[:max_chars]
        text = cut.rsplit(' ', 1)[0] if ' ' in cut else cut
    return text


def _strip_prefix(text: str, prefix: str) -> str:
    """Remove ``prefix`` from the start of ``text``.

    Case and whitespace are ignored: tokenizers decode a prompt with their
    own spacing and casing (BERT's gives ``'image : where'`` for
    ``'Image: where'``).
    """
    t = text.strip()
    p = ''.join(prefix.lower().split())
    if not p:
        return t
    low, i, j = t.lower(), 0, 0
    while i < len(low) and j < len(p):
        if low[i].isspace():
            i += 1
        elif low[i] == p[j]:
            i += 1
            j += 1
        else:
            return t
    return t[i:].strip() if j == len(p) else t


def _torch_dtype(dtype: Optional[str]):
    """``'float16'`` -> ``torch.float16``; None and ``'auto'`` pass."""
    if dtype is None or dtype == 'auto':
        return dtype
    import torch
    value = getattr(torch, str(dtype), None)
    if not isinstance(value, torch.dtype):
        raise ValueError(f'unknown dtype {dtype!r}; use auto, float32, '
                         'float16 or bfloat16')
    return value


def _device(device: Optional[str]) -> str:
    if device:
        return device
    import torch
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def _from_pretrained(loader, name: str, what: str, **kwargs):
    """Load offline, with one clear error naming the model path."""
    if (osp.isabs(name) or name.startswith('.')) and not osp.isdir(name):
        raise FileNotFoundError(f'{what} model directory not found: {name}')
    try:
        return loader(name, local_files_only=True, **kwargs)
    except (OSError, ValueError) as e:
        raise FileNotFoundError(
            f'cannot load {what} model {name!r} from local files: {e}') from e


def numeric_stats(items: List[dict]) -> Dict[str, tuple]:
    """Label-free mean / std of every numeric record field over ``items``."""
    values: Dict[str, list] = {}
    for item in items:
        for key, value in (item.get('record') or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                values.setdefault(key, []).append(float(value))
    stats = {}
    for key, vals in values.items():
        mean = sum(vals) / len(vals)
        var = sum((v - mean)**2 for v in vals) / max(len(vals), 1)
        stats[key] = (mean, max(var**0.5, 1e-6))
    return stats


def qualify_numeric(record: Optional[dict], stats: Dict[str, tuple],
                    threshold: float = 1.0) -> str:
    """Words for the numeric fields that are far from their usual value.

    ``"dot_count high; pitch_um very low"`` for ``|z| > threshold`` (``very``
    beyond ``2 * threshold``); ``"all measurements in the usual range"`` when
    none is.
    """
    words = []
    for key, value in (record or {}).items():
        if key not in stats or isinstance(value, bool) or \
                not isinstance(value, (int, float)):
            continue
        mean, std = stats[key]
        z = (float(value) - mean) / std
        if abs(z) <= threshold:
            continue
        level = 'very ' if abs(z) > 2 * threshold else ''
        words.append(f'{key} {level}{"high" if z > 0 else "low"}')
    return '; '.join(words) or 'all measurements in the usual range'


def text_fields(record: Optional[dict]) -> str:
    """The non-numeric record fields as ``"field: value; ..."``."""
    return format_record({
        k: v
        for k, v in (record or {}).items()
        if isinstance(v, str) or isinstance(v, bool)
    })


class RecordDescriber:
    """The ``record`` backend: fill a template from the record, no model.

    This stands in for the LLM step with a fixed piece of prior knowledge:
    the usual range of each measurement. Template fields: ``{record}`` (all
    fields, raw), ``{numeric}`` (numeric fields far from their usual value,
    in words, see :func:`qualify_numeric`), ``{text}`` (the text fields) and
    ``{description}`` (a description already in the annotation).

    Args:
        template (str): The template.
        stats (dict, optional): Field -> (mean, std) of the numeric fields.
            Defaults to None (``{numeric}`` then says nothing is unusual).
        threshold (float): ``|z|`` above which a value is unusual.
            Defaults to 1.0.
        max_chars (int): Length limit of a descriptor. Defaults to 512.
    """

    def __init__(self,
                 template: str,
                 stats: Optional[Dict[str, tuple]] = None,
                 threshold: float = 1.0,
                 max_chars: int = 512) -> None:
        self.template = template
        self.stats = stats or {}
        self.threshold = threshold
        self.max_chars = max_chars

    def __call__(self, items: List[dict]) -> List[str]:
        out = []
        for item in items:
            rec = item.get('record')
            text = self.template.format(
                record=format_record(rec) or 'none',
                numeric=qualify_numeric(rec, self.stats, self.threshold),
                text=text_fields(rec) or 'none',
                description=item.get('description', ''))
            out.append(_clean(text, self.max_chars))
        return out


class MeasureDescriber:
    """The ``measure`` backend: say in words what the dots of an image do.

    A deterministic stand-in for the VLM step (no model): the dots are
    measured (:func:`mmase.apis.ase_measure.detect_dots`) and each cell of a
    3 x 3 grid is compared with the median cell of the same image, so
    board-to-board variation (pitch, dot size, print intensity) cancels and
    only a local difference is reported:

    - *denser*: the cell holds more pink than the median cell by more than
      ``pink_threshold`` (relative): more dots, or larger or darker ones. It
      judges density by the amount of pink, as the eye does at a glance, so
      larger dots also read as denser; counting and sizing dots is what the
      record's numbers are for;
    - *paler or missing*: less pink by more than ``pink_threshold``;
    - *shifted*: the median offset of the cell's dots from the image's
      lattice exceeds ``shift_threshold`` pitches (a coherent
      displacement; dots packed on a finer lattice scatter around the nodes
      and do not count as shifted).

    Degrees: ``slightly`` below twice the threshold, ``much`` from four
    times. Example: ``"The dots are much denser in the lower left and in
    the bottom. Elsewhere the lattice looks even."``

    Args:
        pink_threshold (float): Relative pink difference to report.
            Defaults to 0.12.
        shift_threshold (float): Displacement to report, in pitches.
            Defaults to 0.12.
        max_chars (int): Length limit of a description. Defaults to 512.
    """

    SIDES = (('all along the top', (0, 1, 2)),
             ('all along the bottom', (6, 7, 8)),
             ('all along the left side', (0, 3, 6)),
             ('all along the right side', (2, 5, 8)))

    def __init__(self,
                 pink_threshold: float = 0.12,
                 shift_threshold: float = 0.12,
                 max_chars: int = 512) -> None:
        self.pink_threshold = pink_threshold
        self.shift_threshold = shift_threshold
        self.max_chars = max_chars

    def _where(self, cells: List[int]) -> str:
        from mmase.apis.ase_measure import REGION_NAMES
        left = list(cells)
        parts = []
        for phrase, side in self.SIDES:
            if all(c in left for c in side):
                parts.append(phrase)
                left = [c for c in left if c not in side]
        parts += [f'in the {REGION_NAMES[c]}' for c in left]
        if len(parts) == 1:
            return parts[0]
        return ', '.join(parts[:-1]) + ' and ' + parts[-1]

    def _degree(self, value: float, threshold: float) -> str:
        if value < 2 * threshold:
            return 'slightly '
        return 'much ' if value >= 4 * threshold else ''

    def describe(self, img: np.ndarray) -> str:
        """Description of one uint8 RGB image."""
        from mmase.apis.ase_measure import detect_dots, region_stats
        cells = region_stats(detect_dots(img))
        pink = np.array([c['pink'] for c in cells])
        shift = np.array([c['shift'] for c in cells])
        rel = pink / max(float(np.median(pink)), 1e-6) - 1
        sentences = []
        for name, values, sign, thr in (
                ('denser', rel, 1, self.pink_threshold),
                ('paler or missing', rel, -1, self.pink_threshold)):
            hit = [i for i in np.argsort(-sign * values)
                   if sign * values[i] > thr]
            if hit:
                deg = self._degree(float(sign * values[hit[0]]), thr)
                sentences.append(f'The dots are {deg}{name} '
                                 f'{self._where(hit)}.')
        hit = [i for i in np.argsort(-shift)
               if shift[i] > self.shift_threshold]
        if hit:
            deg = self._degree(float(shift[hit[0]]), self.shift_threshold)
            sentences.append(f'The rows are {deg}shifted off the lattice '
                             f'{self._where(hit)}.')
        if not sentences:
            return ('The dot lattice looks even everywhere: same density, '
                    'colour and alignment.')
        sentences.append('Elsewhere the lattice looks even.')
        return _clean(' '.join(sentences), self.max_chars)

    def __call__(self, images: list) -> List[str]:
        return [self.describe(np.asarray(im.convert('RGB'))) for im in images]


class VLMDescriber:
    """Describe images with a Hugging Face image-text-to-text model.

    Supported, in this order: chat VLMs whose processor has a chat template
    (LLaVA, Qwen2-VL, ...: the prompt goes into a user turn with the image),
    prompt-conditioned captioners (BLIP / BLIP-2: the prompt is the text
    input) and pure captioners (``VisionEncoderDecoderModel``: no text
    input, the prompt is not used).

    Args:
        model_name (str): Local directory or cached hub id.
        prompt (str): The prompt.
        max_new_tokens (int): Generation length. Defaults to 48.
        device (str, optional): Defaults to None (cuda if available).
        max_chars (int): Length limit of a description. Defaults to 512.
        dtype (str, optional): Weight dtype (``'auto'``, ``'float32'``,
            ``'float16'``, ``'bfloat16'``). Defaults to None (float32).
    """

    def __init__(self,
                 model_name: str,
                 prompt: str,
                 max_new_tokens: int = 48,
                 device: Optional[str] = None,
                 max_chars: int = 512,
                 dtype: Optional[str] = None) -> None:
        import transformers as tf
        self.prompt = prompt
        self.max_new_tokens = max_new_tokens
        self.max_chars = max_chars
        self.device = _device(device)
        config = _from_pretrained(tf.AutoConfig.from_pretrained, model_name,
                                  'VLM')
        self.model_type = getattr(config, 'model_type', '')
        kwargs = {}
        if dtype is not None:
            kwargs['torch_dtype'] = _torch_dtype(dtype)
        model = None
        errors = []
        for name in ('AutoModelForImageTextToText', 'AutoModelForVision2Seq'):
            loader = getattr(tf, name, None)
            if loader is None:
                continue
            try:
                model = loader.from_pretrained(
                    model_name, local_files_only=True, **kwargs)
                break
            except (ValueError, OSError, KeyError) as e:
                errors.append(f'{name}: {e}')
        if model is None:
            raise FileNotFoundError(
                f'cannot load VLM {model_name!r} as an image-text-to-text or '
                f'vision2seq model: {"; ".join(errors)}')
        self.model = model.to(self.device).eval()
        self.processor = None
        try:
            proc = tf.AutoProcessor.from_pretrained(
                model_name, local_files_only=True)
            if hasattr(proc, 'image_processor'):
                self.processor = proc
        except (OSError, ValueError, KeyError, TypeError):
            pass
        self.image_processor = _from_pretrained(
            tf.AutoImageProcessor.from_pretrained, model_name,
            'VLM image processor') if self.processor is None else \
            self.processor.image_processor
        self.tokenizer = (
            self.processor.tokenizer if self.processor is not None and
            hasattr(self.processor, 'tokenizer') else _from_pretrained(
                tf.AutoTokenizer.from_pretrained, model_name, 'VLM tokenizer'))
        if self.tokenizer.pad_token is None and \
                self.tokenizer.eos_token is not None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.takes_text = self.model_type != 'vision-encoder-decoder'
        self.chat = bool(getattr(self.processor, 'chat_template', None))
        if self.chat:
            self.tokenizer.padding_side = 'left'
        # a captioner's output starts with the prompt as its tokenizer
        # decodes it (own casing and spacing): strip that form too
        ids = self.tokenizer(prompt, add_special_tokens=False)['input_ids']
        self.prompt_prefixes = (self.tokenizer.decode(
            ids, skip_special_tokens=True), prompt)

    def _inputs(self, images: list) -> dict:
        n = len(images)
        if self.chat:
            messages = [{
                'role': 'user',
                'content': [{'type': 'image'},
                            {'type': 'text', 'text': self.prompt}]
            }]
            text = self.processor.apply_chat_template(
                messages, add_generation_prompt=True)
            return self.processor(
                images=images, text=[text] * n, return_tensors='pt',
                padding=True)
        if self.takes_text and self.processor is not None:
            return self.processor(
                images=images, text=[self.prompt] * n, return_tensors='pt',
                padding=True)
        return self.image_processor(images=images, return_tensors='pt')

    def _strip_prompt(self, text: str) -> str:
        for prefix in self.prompt_prefixes:
            stripped = _strip_prefix(text, prefix)
            if stripped != text.strip():
                return stripped
        return text.strip()

    def __call__(self, images: list) -> List[str]:
        import torch
        inputs = self._inputs(images)
        dtype = self.model.dtype
        inputs = {
            k: (v.to(self.device, dtype) if torch.is_floating_point(v) else
                v.to(self.device)) if torch.is_tensor(v) else v
            for k, v in inputs.items()
        }
        kwargs = {}
        if self.chat:  # BLIP passes its own pad id to its text decoder
            kwargs['pad_token_id'] = self.tokenizer.pad_token_id
        with torch.no_grad():
            out = self.model.generate(
                **inputs, max_new_tokens=self.max_new_tokens,
                do_sample=False, num_beams=1, **kwargs)
        decoder_only = ('input_ids' in inputs and
                        not self.model.config.is_encoder_decoder and
                        self.chat)
        if decoder_only:
            out = out[:, inputs['input_ids'].shape[1]:]
        texts = self.tokenizer.batch_decode(out, skip_special_tokens=True)
        if self.takes_text and not decoder_only:
            texts = [self._strip_prompt(t) for t in texts]
        return [_clean(t, self.max_chars) for t in texts]


class LLMCombiner:
    """Combine description, record and class prior with a causal LM.

    Args:
        model_name (str): Local directory or cached hub id.
        template (str): Prompt template with ``{description}``,
            ``{record}``, ``{prior}`` and ``{classes}`` fields.
        classes (Sequence[str]): Class names. Defaults to ().
        prior (str): Prior knowledge text. Defaults to ''.
        max_new_tokens (int): Generation length. Defaults to 48.
        device (str, optional): Defaults to None (cuda if available).
        max_chars (int): Length limit of a descriptor. Defaults to 512.
        dtype (str, optional): Weight dtype (``'auto'``, ``'float32'``,
            ``'float16'``, ``'bfloat16'``). Defaults to None (float32).
    """

    def __init__(self,
                 model_name: str,
                 template: str,
                 classes: Sequence[str] = (),
                 prior: str = '',
                 max_new_tokens: int = 48,
                 device: Optional[str] = None,
                 max_chars: int = 512,
                 dtype: Optional[str] = None) -> None:
        import transformers as tf
        self.template = template
        self.classes = ', '.join(classes)
        self.prior = prior
        self.max_new_tokens = max_new_tokens
        self.max_chars = max_chars
        self.device = _device(device)
        self.tokenizer = _from_pretrained(tf.AutoTokenizer.from_pretrained,
                                          model_name, 'LLM tokenizer')
        kwargs = {}
        if dtype is not None:
            kwargs['torch_dtype'] = _torch_dtype(dtype)
        self.model = _from_pretrained(tf.AutoModelForCausalLM.from_pretrained,
                                      model_name, 'LLM',
                                      **kwargs).to(self.device).eval()
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = (
                self.tokenizer.eos_token or self.tokenizer.unk_token)
        self.tokenizer.padding_side = 'left'
        self.chat = bool(getattr(self.tokenizer, 'chat_template', None))

    def prompt(self, description: str, record: str) -> str:
        """The filled prompt (chat-formatted when the tokenizer has one)."""
        text = self.template.format(
            description=description or 'no description',
            record=record or 'none',
            prior=self.prior,
            classes=self.classes)
        if self.chat:
            text = self.tokenizer.apply_chat_template(
                [{'role': 'user', 'content': text}],
                tokenize=False,
                add_generation_prompt=True)
        return text

    def __call__(self, descriptions: List[str],
                 records: List[str]) -> List[str]:
        import torch
        prompts = [self.prompt(d, r) for d, r in zip(descriptions, records)]
        enc = self.tokenizer(
            prompts, return_tensors='pt', padding=True,
            add_special_tokens=not self.chat)
        enc = {k: v.to(self.device) for k, v in enc.items()}
        enc.pop('token_type_ids', None)
        with torch.no_grad():
            out = self.model.generate(
                **enc,
                max_new_tokens=self.max_new_tokens,
                do_sample=False,
                num_beams=1,
                pad_token_id=self.tokenizer.pad_token_id)
        new = out[:, enc['input_ids'].shape[1]:]
        texts = self.tokenizer.batch_decode(new, skip_special_tokens=True)
        return [_clean(t, self.max_chars) for t in texts]


class DescriptorPipeline:
    """Image(s) + record(s) -> descriptor(s) for one backend.

    Args:
        backend (str): ``'record'``, ``'measure'``, ``'vlm'`` or
            ``'vlm_llm'``.
        vlm (VLMDescriber, optional): Needed by ``'vlm'`` / ``'vlm_llm'``.
        llm (LLMCombiner, optional): Needed by ``'vlm_llm'``.
        record (RecordDescriber, optional): Needed by ``'record'``.
        measure (MeasureDescriber, optional): Used by ``'measure'``.
            Defaults to None (a default :class:`MeasureDescriber`).
    """

    BACKENDS = ('record', 'measure', 'vlm', 'vlm_llm')

    def __init__(self,
                 backend: str,
                 vlm: Optional[VLMDescriber] = None,
                 llm: Optional[LLMCombiner] = None,
                 record: Optional[RecordDescriber] = None,
                 measure: Optional[MeasureDescriber] = None) -> None:
        if backend not in self.BACKENDS:
            raise ValueError(f'unknown backend {backend!r}, choose from '
                             f'{self.BACKENDS}')
        if backend in ('vlm', 'vlm_llm') and vlm is None:
            raise ValueError(f'backend {backend!r} needs a VLM (--vlm)')
        if backend == 'vlm_llm' and llm is None:
            raise ValueError("backend 'vlm_llm' needs an LLM (--llm)")
        if backend == 'record' and record is None:
            raise ValueError("backend 'record' needs a record template")
        self.backend = backend
        self.vlm, self.llm, self.record = vlm, llm, record
        self.measure = measure or MeasureDescriber()

    def __call__(self, items: List[dict]) -> List[str]:
        if self.backend == 'record':
            return self.record(items)
        from PIL import Image
        images = []
        for item in items:
            if not osp.isfile(item['abs_path']):
                raise FileNotFoundError(
                    f'image not found: {item["abs_path"]} (img_path '
                    f'{item["img_path"]!r})')
            with Image.open(item['abs_path']) as im:
                images.append(im.convert('RGB'))
        if self.backend == 'measure':
            return self.measure(images)
        descs = self.vlm(images)
        if self.backend == 'vlm':
            return descs
        records = [format_record(item.get('record')) for item in items]
        combined = self.llm(descs, records)
        # an empty generation (e.g. an immediate end token) falls back to
        # the VLM description rather than losing the sample's text
        return [c if c else d for c, d in zip(combined, descs)]


def run_describe(items: List[dict],
                 pipeline,
                 out_file: str,
                 batch_size: int = 8,
                 resume: bool = True,
                 flush_every: int = 1,
                 limit: Optional[int] = None,
                 progress: bool = True) -> 'OrderedDict[str, str]':
    """Describe ``items`` in batches and keep the JSONL cache up to date.

    Args:
        items (list[dict]): From :func:`read_annotations`.
        pipeline (callable): ``List[item] -> List[str]``, e.g.
            :class:`DescriptorPipeline`.
        out_file (str): JSONL cache.
        batch_size (int): Items per call of ``pipeline``. Defaults to 8.
        resume (bool): Keep and skip the entries already in ``out_file``.
            Defaults to True.
        flush_every (int): Rewrite the cache every this many batches (and at
            the end). Defaults to 1.
        limit (int, optional): Describe at most this many new items (e.g. to
            split a long job). Defaults to None.
        progress (bool): Show a tqdm progress bar. Defaults to True.

    Returns:
        OrderedDict[str, str]: The full cache after the run.
    """
    if batch_size <= 0:
        raise ValueError(f'batch_size must be > 0, got {batch_size}')
    if flush_every <= 0:
        raise ValueError(f'flush_every must be >= 1 (batches between cache '
                         f'writes), got {flush_every}')
    cache = load_cache(out_file) if resume else OrderedDict()
    todo = [it for it in items if it['img_path'] not in cache]
    if limit is not None:
        todo = todo[:limit]
    batches: Iterable = range(0, len(todo), batch_size)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(todo), desc='describe', unit='img')
    try:
        for n, start in enumerate(batches, 1):
            batch = todo[start:start + batch_size]
            descs = pipeline(batch)
            if len(descs) != len(batch):
                raise RuntimeError(
                    f'descriptor pipeline returned {len(descs)} texts for '
                    f'{len(batch)} images')
            for item, desc in zip(batch, descs):
                cache[item['img_path']] = desc
            if n % flush_every == 0:
                write_cache(out_file, cache)
            if bar is not None:
                bar.update(len(batch))
    finally:
        if bar is not None:
            bar.close()
    write_cache(out_file, cache)
    return cache
