# Copyright (c) mmase contributors. All rights reserved.
"""One ``--cfg-options data_root=... description_file=...`` reaches the
train, val and test datasets of an ASE config."""
import os.path as osp

from mmengine.config import Config

from mmase.utils.setup_env import merge_cfg_options

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SPLITS = ('train', 'val', 'test')


def _cfg(name: str) -> Config:
    return Config.fromfile(osp.join(REPO, 'configs', name))


def _datasets(cfg: Config) -> list:
    return [cfg[f'{s}_dataloader']['dataset'] for s in SPLITS]


def test_described_config_reads_descriptions_in_every_split():
    cfg = _cfg('ase/pfa-cmaf_effnet-lite0_1xb16-8e_ase.py')
    assert cfg.description_file == 'descriptions.jsonl'
    assert [d.description_file for d in _datasets(cfg)] == [
        'descriptions.jsonl'] * 3
    # image-only baselines read no cache
    assert [
        d.description_file
        for d in _datasets(_cfg('ase/deit-tiny_1xb16-6e_ase.py'))
    ] == [None] * 3


def test_one_option_sets_all_three_datasets():
    cfg = _cfg('ase/pfa-cmaf_effnet-lite0_1xb16-8e_ase.py')
    merge_cfg_options(cfg, {'data_root': '/data/ase_real/',
                            'description_file': '/cache/desc.jsonl'})
    for d in _datasets(cfg):
        assert d.data_root == '/data/ase_real/'
        assert d.description_file == '/cache/desc.jsonl'
    assert cfg.data_root == '/data/ase_real/'

    # an image-only config: None -> the cache, in every split
    cfg = _cfg('ase/resnet50_1xb16-3e_ase.py')
    merge_cfg_options(cfg, {'description_file': 'd.jsonl'})
    assert [d.description_file for d in _datasets(cfg)] == ['d.jsonl'] * 3


def test_a_field_set_on_purpose_and_other_options_are_kept():
    cfg = _cfg('ase/pfa-cmaf_effnet-lite0_1xb16-8e_ase.py')
    cfg.test_dataloader.dataset.data_root = 'data/ase_other/'
    merge_cfg_options(cfg, {'data_root': 'new/',
                            'train_dataloader.batch_size': 4})
    assert cfg.train_dataloader.dataset.data_root == 'new/'
    assert cfg.val_dataloader.dataset.data_root == 'new/'
    assert cfg.test_dataloader.dataset.data_root == 'data/ase_other/'
    assert cfg.train_dataloader.batch_size == 4
    # a nested option is a plain merge: the other splits keep theirs
    cfg = _cfg('ase/pfa-cmaf_effnet-lite0_1xb16-8e_ase.py')
    merge_cfg_options(cfg, {'val_dataloader.dataset.data_root': 'v/'})
    assert cfg.train_dataloader.dataset.data_root == 'data/ase_synth/'
    assert cfg.val_dataloader.dataset.data_root == 'v/'
