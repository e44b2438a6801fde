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
- ``'record'``: no model; the descriptor is the ``record_descriptor.txt``
  template filled from the record (a cheap, deterministic baseline and the
  fallback when no model weights are available).

The cache is rewritten atomically (temporary file + ``os.replace``) after
every ``flush_every`` batches, and a run skips every image already in the
cache, so an interrupted run resumes where it stopped.
"""
import os.path as osp
from collections import OrderedDict
from typing import Dict, Iterable, List, Optional, Sequence

from mmase.utils.file_io import dump_jsonl_atomic, load_jsonl

PROMPT_DIR = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
    'ase', 'prompts')


def load_template(path: str) -> str:
    """Read a prompt template file (trailing newline stripped).

    Args:
        path (str): Template file.

    Returns:
        str: The template.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'prompt template not found: {path}')
    with open(path, encoding='utf-8') as f:
        return f.read().rstrip('\n')


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
    if 'img_path' not in obj or 'description' not in obj:
        raise ValueError(f'{where}: not a descriptor cache line '
                         '{"img_path": ..., "description": ...}')


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
    for obj in load_jsonl(path, check=_check_cache_line):
        cache[str(obj['img_path'])] = str(obj['description'])
    return cache


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
    t, p = text.strip(), prefix.strip()
    if p and t.lower().startswith(p.lower()):
        return t[len(p):].strip()
    return t


def _device(device: Optional[str]) -> str:
    if device:
        return device
    import torch
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def _from_pretrained(loader, name: str, what: str):
    """Load offline, with one clear error naming the model path."""
    if (osp.isabs(name) or name.startswith('.')) and not osp.isdir(name):
        raise FileNotFoundError(f'{what} model directory not found: {name}')
    try:
        return loader(name, local_files_only=True)
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
    """

    def __init__(self,
                 model_name: str,
                 prompt: str,
                 max_new_tokens: int = 48,
                 device: Optional[str] = None,
                 max_chars: int = 512) -> None:
        import transformers as tf
        self.prompt = prompt
        self.max_new_tokens = max_new_tokens
        self.max_chars = max_chars
        self.device = _device(device)
        config = _from_pretrained(tf.AutoConfig.from_pretrained, model_name,
                                  'VLM')
        self.model_type = getattr(config, 'model_type', '')
        model = None
        errors = []
        for name in ('AutoModelForImageTextToText', 'AutoModelForVision2Seq'):
            loader = getattr(tf, name, None)
            if loader is None:
                continue
            try:
                model = loader.from_pretrained(
                    model_name, local_files_only=True)
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

    def __call__(self, images: list) -> List[str]:
        import torch
        inputs = self._inputs(images)
        inputs = {
            k: v.to(self.device) if hasattr(v, 'to') else v
            for k, v in inputs.items()
        }
        with torch.no_grad():
            out = self.model.generate(
                **inputs, max_new_tokens=self.max_new_tokens,
                do_sample=False, num_beams=1)
        decoder_only = ('input_ids' in inputs and
                        not self.model.config.is_encoder_decoder and
                        self.chat)
        if decoder_only:
            out = out[:, inputs['input_ids'].shape[1]:]
        texts = self.tokenizer.batch_decode(out, skip_special_tokens=True)
        if self.takes_text and not decoder_only:
            texts = [_strip_prefix(t, self.prompt) for t in texts]
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
    """

    def __init__(self,
                 model_name: str,
                 template: str,
                 classes: Sequence[str] = (),
                 prior: str = '',
                 max_new_tokens: int = 48,
                 device: Optional[str] = None,
                 max_chars: int = 512) -> None:
        import transformers as tf
        self.template = template
        self.classes = ', '.join(classes)
        self.prior = prior
        self.max_new_tokens = max_new_tokens
        self.max_chars = max_chars
        self.device = _device(device)
        self.tokenizer = _from_pretrained(tf.AutoTokenizer.from_pretrained,
                                          model_name, 'LLM tokenizer')
        self.model = _from_pretrained(tf.AutoModelForCausalLM.from_pretrained,
                                      model_name, 'LLM').to(self.device).eval()
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
        backend (str): ``'record'``, ``'vlm'`` or ``'vlm_llm'``.
        vlm (VLMDescriber, optional): Needed by ``'vlm'`` / ``'vlm_llm'``.
        llm (LLMCombiner, optional): Needed by ``'vlm_llm'``.
        record (RecordDescriber, optional): Needed by ``'record'``.
    """

    BACKENDS = ('record', 'vlm', 'vlm_llm')

    def __init__(self,
                 backend: str,
                 vlm: Optional[VLMDescriber] = None,
                 llm: Optional[LLMCombiner] = None,
                 record: Optional[RecordDescriber] = None) -> None:
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
