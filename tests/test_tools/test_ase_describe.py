# Copyright (c) mmase contributors. All rights reserved.
"""End-to-end test of tools/ase/describe.py with tiny random models."""
import json
import os.path as osp

import numpy as np
import pytest

from mmase.apis import ase_describe
from mmase.testing import make_tiny_bert

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _load_tool():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'ase_describe_tool', osp.join(REPO, 'tools', 'ase', 'describe.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def tiny_models(tmp_path_factory):
    """A tiny BLIP captioner (VLM) and a tiny GPT-2 (LLM), saved offline."""
    import torch
    from transformers import (AutoTokenizer, BlipConfig,
                              BlipForConditionalGeneration,
                              BlipImageProcessor, BlipProcessor, GPT2Config,
                              GPT2LMHeadModel)
    root = tmp_path_factory.mktemp('models')
    bert = make_tiny_bert(str(root / 'tok'))
    tok = AutoTokenizer.from_pretrained(bert)
    torch.manual_seed(0)
    blip = BlipForConditionalGeneration(BlipConfig(
        text_config=dict(
            vocab_size=len(tok), hidden_size=32, num_hidden_layers=1,
            num_attention_heads=2, intermediate_size=64,
            max_position_embeddings=128, bos_token_id=tok.cls_token_id,
            eos_token_id=tok.sep_token_id, sep_token_id=tok.sep_token_id,
            pad_token_id=tok.pad_token_id),
        vision_config=dict(
            hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
            intermediate_size=64, image_size=32, patch_size=8),
        projection_dim=16))
    vlm_dir = str(root / 'vlm')
    blip.save_pretrained(vlm_dir)
    BlipProcessor(BlipImageProcessor(size={'height': 32, 'width': 32}),
                  tok).save_pretrained(vlm_dir)
    gpt = GPT2LMHeadModel(GPT2Config(
        vocab_size=len(tok), n_positions=512, n_embd=32, n_layer=1,
        n_head=2, bos_token_id=tok.cls_token_id,
        eos_token_id=tok.sep_token_id, pad_token_id=tok.pad_token_id))
    llm_dir = str(root / 'llm')
    gpt.save_pretrained(llm_dir)
    tok.save_pretrained(llm_dir)
    return vlm_dir, llm_dir


@pytest.fixture
def ase_root(tmp_path):
    import cv2
    root = tmp_path / 'ase'
    (root / 'images').mkdir(parents=True)
    (root / 'annotations').mkdir()
    rng = np.random.default_rng(0)
    lines = []
    for i in range(5):
        img = np.full((24, 24, 3), 20, np.uint8)
        img[rng.integers(0, 24, 30), rng.integers(0, 24, 30)] = (180, 105,
                                                                  255)
        cv2.imwrite(str(root / 'images' / f'{i}.png'), img)
        lines.append(json.dumps(dict(
            img_path=f'images/{i}.png', label='ring',
            record=dict(machine=f'M{i}', pressure=1.5 + i))))
    (root / 'annotations' / 'train.jsonl').write_text(
        '\n'.join(lines[:3]) + '\n')
    (root / 'annotations' / 'test.jsonl').write_text(
        '\n'.join(lines[3:]) + '\n')
    (root / 'meta.json').write_text(json.dumps(dict(
        classes=['ring', 'line'], numeric_fields=['pressure'],
        text_fields=['machine'])))  # no numeric_mean: stats from records
    return root


def _read(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def test_record_backend_and_resume(ase_root):
    tool = _load_tool()
    out = ase_root / 'desc.jsonl'
    assert tool.main([str(ase_root), '--backend', 'record', '--out',
                      str(out), '--limit', '2', '--no-progress']) == 0
    rows = _read(out)
    assert [r['img_path'] for r in rows] == ['images/0.png', 'images/1.png']
    # pressure of the 5 records: 1.5 .. 5.5, mean 3.5, std sqrt(2):
    # 1.5 is 1.41 std low
    assert rows[0]['description'] == 'AOI sample. Unusual measurements: ' \
        'pressure low.'
    # resume: the two cached lines are kept verbatim, the rest is added
    rows[0]['description'] = 'kept from the first run'
    out.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    tool.main([str(ase_root), '--backend', 'record', '--out', str(out),
               '--batch-size', '2', '--no-progress'])
    rows = _read(out)
    assert len(rows) == 5
    assert rows[0]['description'] == 'kept from the first run'
    assert {r['img_path'] for r in rows} == {f'images/{i}.png'
                                            for i in range(5)}
    assert not [p for p in out.parent.iterdir() if p.name.endswith('.tmp')]


def test_vlm_llm_end_to_end(ase_root, tiny_models, tmp_path):
    vlm_dir, llm_dir = tiny_models
    tool = _load_tool()
    prompt = tmp_path / 'prompt.txt'
    prompt.write_text('dot pattern')
    out = ase_root / 'vlm_llm.jsonl'
    tool.main([str(ase_root), '--backend', 'vlm_llm', '--vlm', vlm_dir,
               '--llm', llm_dir, '--vlm-prompt', str(prompt), '--out',
               str(out), '--batch-size', '2', '--max-new-tokens', '6',
               '--device', 'cpu', '--no-progress'])
    rows = _read(out)
    assert len(rows) == 5
    assert all(isinstance(r['description'], str) for r in rows)
    assert any(r['description'] for r in rows)
    assert all('\n' not in r['description'] for r in rows)
    # the cache merges into records by img_path
    assert {r['img_path'] for r in rows} == {f'images/{i}.png'
                                            for i in range(5)}


def test_vlm_only_strips_prompt_and_llm_sees_record(ase_root, tiny_models):
    vlm_dir, llm_dir = tiny_models
    vlm = ase_describe.VLMDescriber(vlm_dir, 'dot pattern', 5, 'cpu')
    items = ase_describe.read_annotations(str(ase_root),
                                          ['annotations/train.jsonl'])
    pipe = ase_describe.DescriptorPipeline('vlm', vlm=vlm)
    descs = pipe(items)
    assert len(descs) == 3
    assert not any(d.lower().startswith('dot pattern') for d in descs)
    llm = ase_describe.LLMCombiner(
        llm_dir, 'D: {description} R: {record} P: {prior} C: {classes}',
        classes=['ring', 'line'], prior='rings are round',
        max_new_tokens=4, device='cpu')
    text = llm.prompt('a few dots', 'machine: M0')
    assert text == ('D: a few dots R: machine: M0 P: rings are round '
                    'C: ring, line')
    assert len(llm(['a', 'b'], ['x: 1', 'y: 2'])) == 2


def test_qualify_numeric():
    stats = {'a': (10., 2.), 'b': (0., 1.)}
    rec = {'a': 15., 'b': -1.5, 'c': 'x', 'd': 100}
    assert ase_describe.qualify_numeric(rec, stats) == 'a very high; b low'
    assert ase_describe.qualify_numeric({'a': 11}, stats) == (
        'all measurements in the usual range')
    assert ase_describe.text_fields(rec) == 'c: x'


def test_vision_encoder_decoder_captioner(ase_root, tiny_models, tmp_path):
    """A pure captioner (ViT + GPT-2, no text input) through the VLM path."""
    import torch
    from transformers import (AutoTokenizer, GPT2Config, ViTConfig,
                              ViTImageProcessor, VisionEncoderDecoderConfig,
                              VisionEncoderDecoderModel)
    tok = AutoTokenizer.from_pretrained(tiny_models[1])
    cfg = VisionEncoderDecoderConfig.from_encoder_decoder_configs(
        ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                  intermediate_size=64, image_size=32, patch_size=8),
        GPT2Config(vocab_size=len(tok), n_positions=64, n_embd=32,
                   n_layer=1, n_head=2))
    cfg.decoder_start_token_id = tok.cls_token_id
    cfg.pad_token_id = tok.pad_token_id
    cfg.eos_token_id = tok.sep_token_id
    torch.manual_seed(0)
    model_dir = str(tmp_path / 'vit_gpt2')
    VisionEncoderDecoderModel(config=cfg).save_pretrained(model_dir)
    ViTImageProcessor(size={'height': 32, 'width': 32}).save_pretrained(
        model_dir)
    tok.save_pretrained(model_dir)
    vlm = ase_describe.VLMDescriber(model_dir, 'ignored prompt', 4, 'cpu')
    assert not vlm.takes_text
    items = ase_describe.read_annotations(str(ase_root),
                                          ['annotations/test.jsonl'])
    out = ase_describe.DescriptorPipeline('vlm', vlm=vlm)(items)
    assert len(out) == 2 and all(isinstance(t, str) for t in out)


def test_errors(ase_root, tmp_path):
    bad = tmp_path / 'bad.jsonl'
    bad.write_text('{"img_path": "a.png"}\nnot json\n')
    with pytest.raises(ValueError, match='bad.jsonl:2'):
        ase_describe.read_annotations(str(tmp_path), [str(bad)])
    with pytest.raises(ValueError, match='bad.jsonl:1'):
        ase_describe.load_cache(str(bad))  # line 1 has no description
    with pytest.raises(FileNotFoundError, match='no_such_model'):
        ase_describe.VLMDescriber(str(tmp_path / 'no_such_model'), 'p')
    with pytest.raises(ValueError, match='needs an LLM'):
        ase_describe.DescriptorPipeline('vlm_llm', vlm=object())
