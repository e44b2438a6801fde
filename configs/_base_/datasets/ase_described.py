# The ASE data with the descriptor cache of tools/ase/describe.py
# (`descriptions.jsonl` under the data root) merged into the train, val and
# test samples: the base of the multimodal configs.
_base_ = './ase.py'

description_file = 'descriptions.jsonl'
train_dataloader = dict(dataset=dict(description_file=description_file))
val_dataloader = dict(dataset=dict(description_file=description_file))
test_dataloader = dict(dataset=dict(description_file=description_file))
