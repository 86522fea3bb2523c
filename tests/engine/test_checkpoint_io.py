"""Checkpoints load with torch's weights_only protection on; crafted pickles are refused."""
import os

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import _load_checkpoint, load_checkpoint

from fasternet_yolo11.engine.checkpoint_io import UnsafeCheckpointError


class _RunsCode:
    """Unpickling this calls os.system: what a malicious checkpoint would do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


def test_mmengine_training_state_loads(tmp_path):
    buf = HistoryBuffer()
    buf.update(1.5)
    buf.update(np.float64(2.0))
    ckpt = dict(state_dict={'w': torch.ones(2)},
                message_hub=dict(log_scalars={'train/loss': buf},
                                 runtime_info={'best_score': np.float64(0.5), 'iter': 3}),
                meta=dict(epoch=1, iter=3, seed=np.int64(7)))
    path = tmp_path / 'ok.pth'
    torch.save(ckpt, path)
    loaded = _load_checkpoint(str(path), map_location='cpu')
    assert loaded['message_hub']['log_scalars']['train/loss'].current() == 2.0
    assert loaded['message_hub']['runtime_info']['best_score'] == 0.5


def test_crafted_pickle_is_refused_without_running_code(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'w': torch.ones(1)}, 'payload': _RunsCode(marker)}, path)
    with pytest.raises(UnsafeCheckpointError) as err:
        load_checkpoint(torch.nn.Linear(1, 1), str(path), map_location='cpu')
    message = str(err.value)
    assert '\n' not in message and str(path) in message and 'system' in message
    assert not marker.exists()


def test_missing_checkpoint_names_the_path(tmp_path):
    missing = tmp_path / 'nope.pth'
    with pytest.raises(FileNotFoundError, match=str(missing)):
        _load_checkpoint(str(missing))



class _Fetch:
    def __init__(self, owner, name):
        self.owner, self.name = owner, name

    def __reduce__(self):
        return (getattr, (self.owner, self.name))


@pytest.mark.parametrize('owner, name', [(np.ndarray, 'tofile'), (HistoryBuffer, '__init__')])
def test_getattr_is_only_allowed_for_history_buffer_methods(tmp_path, owner, name):
    path = tmp_path / 'getattr.pth'
    torch.save({'x': _Fetch(owner, name)}, path)
    with pytest.raises(UnsafeCheckpointError):
        _load_checkpoint(str(path))
