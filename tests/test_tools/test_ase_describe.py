# Copyright (c) mmase contributors. All rights reserved.
"""End-to-end test of tools/ase/describe.py with tiny random models."""
import json
import os.path as osp
from importlib import resources

import numpy as np
import pytest
from PIL import Image

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
        # 64 px: a Qwen2-VL processor needs at least 28 px per side
        img = np.full((64, 64, 3), 20, np.uint8)
        img[rng.integers(0, 64, 80), rng.integers(0, 64, 80)] = (180, 105,
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


def _chat_template(image: bool) -> str:
    content = ("{% for c in message['content'] %}{% if c['type'] == 'image' "
               "%}<|vision_start|><|image_pad|><|vision_end|>{% else %}"
               "{{ c['text'] }}{% endif %}{% endfor %}") if image else \
        "{{ message['content'] }}"
    return ("{% for message in messages %}<|im_start|>{{ message['role'] }}"
            "\n" + content + "<|im_end|>\n{% endfor %}"
            "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def _tiny_qwen_tokenizer(path):
    """A byte-level BPE without merges plus the Qwen2-VL special tokens."""
    from transformers import Qwen2Tokenizer

    from mmase.testing.tiny_text_models import _bytes_to_unicode
    path.mkdir()
    vocab = {c: i for i, c in enumerate(_bytes_to_unicode().values())}
    (path / 'vocab.json').write_text(json.dumps(vocab))
    (path / 'merges.txt').write_text('#version: 0.2\n')
    tok = Qwen2Tokenizer(str(path / 'vocab.json'), str(path / 'merges.txt'),
                         eos_token='<|im_end|>', pad_token='<|endoftext|>')
    tok.add_special_tokens(dict(additional_special_tokens=[
        '<|im_start|>', '<|im_end|>', '<|vision_start|>', '<|vision_end|>',
        '<|image_pad|>', '<|video_pad|>'
    ]))
    return tok


@pytest.fixture(scope='module')
def tiny_qwen2_vl(tmp_path_factory):
    """A tiny random Qwen2-VL (chat VLM) with its processor, saved offline."""
    import torch
    from transformers import (Qwen2VLConfig, Qwen2VLForConditionalGeneration,
                              Qwen2VLImageProcessor, Qwen2VLProcessor)
    root = tmp_path_factory.mktemp('qwen2_vl')
    tok = _tiny_qwen_tokenizer(root / 'tok')
    ids = {t: tok.convert_tokens_to_ids(t) for t in (
        '<|im_end|>', '<|endoftext|>', '<|image_pad|>', '<|video_pad|>',
        '<|vision_start|>', '<|vision_end|>')}
    cfg = Qwen2VLConfig(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64,
        num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
        max_position_embeddings=512,
        rope_scaling=dict(type='mrope', mrope_section=[2, 3, 3]),
        vision_config=dict(depth=1, embed_dim=32, hidden_size=32,
                           num_heads=2, mlp_ratio=2, in_chans=3,
                           patch_size=14, spatial_merge_size=2,
                           temporal_patch_size=2),
        image_token_id=ids['<|image_pad|>'],
        video_token_id=ids['<|video_pad|>'],
        vision_start_token_id=ids['<|vision_start|>'],
        vision_end_token_id=ids['<|vision_end|>'],
        eos_token_id=ids['<|im_end|>'], pad_token_id=ids['<|endoftext|>'])
    torch.manual_seed(0)
    model_dir = str(root / 'model')
    Qwen2VLForConditionalGeneration(cfg).save_pretrained(model_dir)
    proc = Qwen2VLProcessor(
        Qwen2VLImageProcessor(min_pixels=56 * 56, max_pixels=56 * 56),
        tok, chat_template=_chat_template(image=True))
    proc.save_pretrained(model_dir)
    return model_dir


def test_chat_vlm_end_to_end(ase_root, tiny_qwen2_vl, tiny_models):
    """Chat VLM (Qwen2-VL layout): the prompt goes into a user turn with the
    image, only the new tokens come back; then the vlm_llm tool path."""
    vlm = ase_describe.VLMDescriber(
        tiny_qwen2_vl, ase_describe.load_template('vlm_describe.txt'),
        max_new_tokens=6, device='cpu')
    assert vlm.chat
    items = ase_describe.read_annotations(str(ase_root),
                                          ['annotations/train.jsonl'])
    descs = ase_describe.DescriptorPipeline('vlm', vlm=vlm)(items)
    assert len(descs) == 3 and all(isinstance(d, str) for d in descs)
    # generated text only: neither the prompt nor the chat markup
    assert not any('Describe the pattern' in d or 'assistant' in d
                   for d in descs)
    inputs = vlm._inputs([Image.open(items[0]['abs_path'])])
    assert int((inputs['input_ids'] == vlm.model.config.image_token_id)
               .sum()) == 4  # 56 x 56 px -> 4 x 4 patches -> 2 x 2 merged
    out = ase_root / 'chat.jsonl'
    _load_tool().main([str(ase_root), '--backend', 'vlm_llm', '--vlm',
                       tiny_qwen2_vl, '--llm', tiny_models[1], '--out',
                       str(out), '--max-new-tokens', '4', '--device', 'cpu',
                       '--dtype', 'float32', '--no-progress'])
    assert len(_read(out)) == 5


def test_chat_llm_template(tiny_models, tmp_path):
    """A causal LM with a chat template gets its prompt as a user turn and
    returns only the new tokens."""
    from transformers import AutoTokenizer
    import shutil
    llm_dir = str(tmp_path / 'chat_llm')
    shutil.copytree(tiny_models[1], llm_dir)
    tok = AutoTokenizer.from_pretrained(llm_dir)
    tok.chat_template = ("{% for m in messages %}[{{ m['role'] }}] "
                         "{{ m['content'] }} {% endfor %}"
                         '{% if add_generation_prompt %}[assistant]'
                         '{% endif %}')
    tok.save_pretrained(llm_dir)
    llm = ase_describe.LLMCombiner(llm_dir, 'D: {description} R: {record}',
                                   max_new_tokens=3, device='cpu',
                                   dtype='float32')
    assert llm.chat
    assert llm.prompt('dots', 'a: 1') == '[user] D: dots R: a: 1 [assistant]'
    out = llm(['dots', 'more dots'], ['a: 1', 'a: 2'])
    assert len(out) == 2 and not any('[user]' in t for t in out)
    with pytest.raises(ValueError, match='unknown dtype'):
        ase_describe.LLMCombiner(llm_dir, '{description}', dtype='float8')


def test_blip_default_prompt_is_stripped(ase_root, tiny_models):
    """BLIP returns the prompt as its tokenizer decodes it ('image : where',
    lower case): the default prompt must still be removed."""
    prompt = ase_describe.load_template('vlm_describe.txt')
    vlm = ase_describe.VLMDescriber(tiny_models[0], prompt, 4, 'cpu')
    items = ase_describe.read_annotations(str(ase_root),
                                          ['annotations/train.jsonl'])
    images = [Image.open(it['abs_path']) for it in items]
    prefixes, vlm.prompt_prefixes = vlm.prompt_prefixes, ()
    raw = vlm(images)  # nothing stripped
    vlm.prompt_prefixes = prefixes
    # the raw output starts with the re-spaced, lower-cased prompt
    assert all(r.startswith('describe the pattern formed by the pink dots '
                            'in this aoi image :') for r in raw)
    descs = vlm(images)
    for r, d in zip(raw, descs):
        assert 'describe' not in d and 'pink dots' not in d
        assert r.endswith(d)
        assert len(d) <= len(r) - len(prefixes[0])


def test_strip_prefix_ignores_case_and_spacing():
    strip = ase_describe._strip_prefix
    assert strip('image : where the dots are', 'Image: where') == \
        'the dots are'
    assert strip('a caption', 'Image: where') == 'a caption'
    assert strip('image : wh', 'Image: where') == 'image : wh'


def test_prompts_ship_inside_the_package(tmp_path):
    """The prompts are package data of mmase (no configs/ folder needed)."""
    folder = resources.files('mmase').joinpath('resources', 'ase_prompts')
    names = ase_describe.packaged_prompts()
    assert names == ['class_prior.txt', 'llm_combine.txt',
                     'record_descriptor.txt', 'vlm_describe.txt']
    for name in names:
        assert ase_describe.load_template(name) == \
            folder.joinpath(name).read_text(encoding='utf-8').rstrip('\n')
    assert '{description}' in ase_describe.load_template('llm_combine.txt')
    # setup.py declares them: its package_data globs match every prompt
    import fnmatch
    import re
    setup_py = open(osp.join(REPO, 'setup.py')).read()
    globs = re.search(r"package_data=\{'mmase': \[([^\]]*)\]",
                      setup_py).group(1)
    globs = re.findall(r"'([^']+)'", globs)
    for name in names + ['README.md']:
        rel = f'resources/ase_prompts/{name}'
        assert any(fnmatch.fnmatch(rel, g.replace('**/', '*/')) for g in
                   globs), (rel, globs)
    with pytest.raises(FileNotFoundError, match='packaged prompts'):
        ase_describe.load_template('no_such_prompt.txt')
    own = tmp_path / 'mine.txt'
    own.write_text('my prompt\n')
    assert ase_describe.load_template(str(own)) == 'my prompt'


def test_out_must_not_be_an_input(ase_root):
    """--out onto an annotation file (or meta.json, an image) is refused and
    the file is left as it was."""
    tool = _load_tool()
    ann = ase_root / 'annotations' / 'train.jsonl'
    rows = [json.loads(line) for line in ann.read_text().splitlines()]
    for row in rows:
        row['description'] = 'an existing description'
    ann.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    before = ann.read_bytes()
    for target in (ann, ase_root / 'annotations' / '..' / 'annotations' /
                   'train.jsonl', ase_root / 'meta.json',
                   ase_root / 'images' / '0.png'):
        with pytest.raises(ValueError, match='is an input of this run'):
            tool.main([str(ase_root), '--backend', 'record', '--out',
                       str(target), '--no-progress'])
    assert ann.read_bytes() == before
    with pytest.raises(ValueError, match='is a folder'):
        tool.main([str(ase_root), '--backend', 'record', '--out',
                   str(ase_root), '--no-progress'])
    # an annotation file that is not an input of this run is no cache either
    other = ase_root / 'other.jsonl'
    other.write_bytes(before)
    with pytest.raises(ValueError, match='annotation file, not a descriptor'):
        tool.main([str(ase_root), '--backend', 'record', '--out', str(other),
                   '--ann-files', 'annotations/test.jsonl', '--no-progress'])
    assert other.read_bytes() == before


def test_flush_every_must_be_positive(ase_root, capsys):
    tool = _load_tool()
    with pytest.raises(SystemExit):
        tool.main([str(ase_root), '--backend', 'record', '--flush-every',
                   '0', '--no-progress'])
    assert '--flush-every: must be >= 1' in capsys.readouterr().err
    with pytest.raises(ValueError, match='flush_every must be >= 1'):
        ase_describe.run_describe([], None, str(ase_root / 'x.jsonl'),
                                  flush_every=0, progress=False)
    assert not (ase_root / 'descriptions.jsonl').exists()


def test_cut_last_line_resumes_from_good_rows(ase_root):
    tool = _load_tool()
    out = ase_root / 'desc.jsonl'
    args = [str(ase_root), '--backend', 'record', '--out', str(out),
            '--no-progress']
    tool.main(args + ['--limit', '3'])
    rows = _read(out)
    rows[0]['description'] = 'kept'
    text = ''.join(json.dumps(r) + '\n' for r in rows)
    out.write_text(text[:-15])  # the third line cut in the middle
    with pytest.warns(UserWarning, match='desc.jsonl:3: last line'):
        tool.main(args)
    rows = _read(out)
    assert len(rows) == 5 and rows[0]['description'] == 'kept'
    assert {r['img_path'] for r in rows} == {f'images/{i}.png'
                                            for i in range(5)}
    # a bad line that is not the last one is an error, nothing rewritten
    lines = out.read_text().splitlines()
    lines[1] = lines[1][:10]
    out.write_text('\n'.join(lines) + '\n')
    before = out.read_bytes()
    with pytest.raises(ValueError, match='desc.jsonl:2: invalid JSON'):
        tool.main(args)
    assert out.read_bytes() == before


def test_measure_backend_describes_the_pixels(tmp_path):
    """The measure backend names where the rendered change is."""
    from mmase.datasets.synthetic import ase_generator as gen
    md = ase_describe.MeasureDescriber()

    def describe(label, region, seed=0):
        rng = np.random.default_rng(seed)
        img, pattern = gen.render_pattern(label, rng, 160, strength=1.4,
                                          region=region)
        return md.describe(img)

    band = dict(kind='band', side='right', width=56.)
    assert describe('normal', None) == (
        'The dot lattice looks even everywhere: same density, colour and '
        'alignment.')
    text = describe('shifted pattern', band)
    assert 'shifted off the lattice all along the right side' in text
    assert 'denser' not in text and 'paler' not in text
    assert 'paler or missing all along the right side' in describe(
        'faded dots', band)
    for label in ('dense cluster', 'enlarged dots'):
        text = describe(label, band)
        assert 'denser all along the right side' in text, text
        assert 'shifted' not in text, text
    # a change of the whole board looks even: the record has to tell
    whole = describe('enlarged dots', dict(kind='whole'))
    assert whole.startswith('The dot lattice looks even everywhere')
    with pytest.raises(FileNotFoundError, match='missing.png'):
        ase_describe.DescriptorPipeline('measure')(
            [dict(img_path='x.png', abs_path=str(tmp_path / 'missing.png'))])
