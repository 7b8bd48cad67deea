"""Checkpoints in the workbench's layout, so either side reads the other's:

  <run>/checkpoints/step-00000120/
    config.json            HF BertConfig (the folder loads as a HF checkpoint)
    model.safetensors      weights, HF names
    optimizer.safetensors  exp_avg.<param> / exp_avg_sq.<param>
    trainer_state.json     step, data position, optimizer kind and step count, run config, engine
    vocab.txt              when the run has one

Written into a temporary folder and renamed into place: a crash leaves the whole checkpoint or none.
"""
import json
import os
import re
import shutil

from safetensors_io import load_file, save_file


def checkpoints_dir(run_dir):
    return os.path.join(run_dir, 'checkpoints')


def list_checkpoints(run_dir):
    """Complete checkpoints, oldest first: [(step, dir)]."""
    root = checkpoints_dir(run_dir)
    if not os.path.isdir(root):
        return []
    found = [(int(m.group(1)), os.path.join(root, n)) for n in os.listdir(root) if (m := re.fullmatch(r'step-(\d+)', n))]
    return sorted(found)


def save(run_dir, step, model_config, weights, optimizer_state, trainer_state, vocab=None, keep=0):
    root = checkpoints_dir(run_dir)
    os.makedirs(root, exist_ok=True)
    final = os.path.join(root, f'step-{step:08d}')
    tmp = os.path.join(root, f'.step-{step:08d}.tmp-{os.getpid()}')
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    with open(os.path.join(tmp, 'config.json'), 'w') as f:
        json.dump({'architectures': ['BertForPreTraining'], 'model_type': 'bert', **model_config}, f, indent=2)
    save_file(weights, os.path.join(tmp, 'model.safetensors'), metadata={'format': 'pt'})
    save_file(optimizer_state, os.path.join(tmp, 'optimizer.safetensors'))
    with open(os.path.join(tmp, 'trainer_state.json'), 'w') as f:
        json.dump(trainer_state, f, indent=2)
    if vocab:
        shutil.copyfile(vocab, os.path.join(tmp, 'vocab.txt'))
    if os.path.exists(final):  # a resumed run saving the same step again
        shutil.rmtree(final)
    os.replace(tmp, final)
    if keep > 0:
        for _, old in list_checkpoints(run_dir)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    return final


def load(directory):
    with open(os.path.join(directory, 'trainer_state.json')) as f:
        state = json.load(f)
    return state, load_file(os.path.join(directory, 'model.safetensors')), load_file(os.path.join(directory, 'optimizer.safetensors'))
