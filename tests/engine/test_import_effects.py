"""Importing the package only registers: mmengine's 'local' backend, its checkpoint loaders, torch's
weights-only allow-list and the process umask stay as they were (checked in a fresh interpreter)."""
import json
import subprocess
import sys

import mmengine.fileio
import pytest

from fasternet_yolo11.engine.checkpoint_io import ATOMIC_BACKEND_ARGS, AtomicLocalBackend

PROBE = r'''
import json, os, re
import torch, mmengine.fileio
from mmengine.fileio import io as fileio
from mmengine.runner.checkpoint import CheckpointLoader

def umask():
    with open('/proc/self/status') as f:
        return re.search(r'Umask:\s*(\d+)', f.read()).group(1)

def state():
    return dict(local=fileio.backends['local'].__name__,
                prefixes={k: v.__name__ for k, v in fileio.prefix_to_backends.items()},
                loaders={k: v.__name__ for k, v in CheckpointLoader._schemes.items()},
                safe_globals=sorted(map(str, torch.serialization.get_safe_globals())),
                umask=umask(),
                backends=sorted(fileio.backends))

before = state()
import fasternet_yolo11
after = state()
print(json.dumps(dict(before=before, after=after)))
'''


def test_import_changes_no_mmengine_or_torch_state():
    out = subprocess.run([sys.executable, '-c', PROBE], capture_output=True, text=True, check=True)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    before, after = seen['before'], seen['after']
    assert after['local'] == before['local'] == 'LocalBackend'
    assert after['prefixes'] == before['prefixes']
    assert after['loaders'] == before['loaders']
    assert after['safe_globals'] == before['safe_globals']
    assert after['umask'] == before['umask']
    # the one addition: a backend of its own name
    assert set(after['backends']) - set(before['backends']) == {'atomic_local'}


def test_plain_dump_is_not_atomic_but_checkpoint_backend_is(tmp_path, monkeypatch):
    written = []
    monkeypatch.setattr(AtomicLocalBackend, 'put_text',
                        lambda self, obj, path, encoding='utf-8': written.append(str(path)))
    monkeypatch.setattr(AtomicLocalBackend, 'put', lambda self, obj, path: written.append(str(path)))
    mmengine.fileio.dump({'a': 1}, str(tmp_path / 'plain.json'))
    assert written == [] and (tmp_path / 'plain.json').is_file()
    mmengine.fileio.dump({'a': 1}, str(tmp_path / 'atomic.json'), backend_args=ATOMIC_BACKEND_ARGS)
    assert written == [str(tmp_path / 'atomic.json')]


@pytest.mark.parametrize('config', ['configs/_base_/default_runtime.py', 'configs/_base_/schedules/yolo11_recipe.py'])
def test_checkpoints_are_written_through_the_atomic_backend(config):
    from _tools import REPO
    from mmengine.config import Config
    cfg = Config.fromfile(f'{REPO}/{config}')
    assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook'
    assert cfg.default_hooks.checkpoint.backend_args == ATOMIC_BACKEND_ARGS
