"""Shared by the YOLO11 converter and parity tests: the converter module and the recorded Ultralytics fixtures."""
import functools
import hashlib
import importlib.util
import json
import os.path as osp
import sys

import numpy as np

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
FIXTURES = osp.join(REPO, 'tests', 'fixtures', 'yolo11_reference')


def _load_module(name, path):
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


converter = _load_module('ultralytics_to_mmyolo',
                         osp.join(REPO, 'tools', 'model_converters', 'ultralytics_to_mmyolo.py'))
synthetic = _load_module('yolo11_synthetic_weights', osp.join(FIXTURES, 'synthetic_weights.py'))


def rebuild_synthetic_state_dict(weights_module, structure_path):
    """The synthetic Ultralytics-layout state dict a fixture folder was recorded with, rebuilt by its
    ``synthetic_weights`` module from a structure file, and checked bit-exact against its sha256."""
    with open(structure_path) as f:
        structure = json.load(f)
    shapes, dtypes = weights_module.shapes_from_structure(structure)
    sd = weights_module.synthetic_state_dict(shapes, dtypes, seed=structure['synthetic_seed'])
    digest = hashlib.sha256()
    for key, tensor in sd.items():
        digest.update(key.encode('utf-8'))
        digest.update(tensor.contiguous().numpy().tobytes())
    assert digest.hexdigest() == structure['synthetic_state_dict_sha256'], 'regeneration is not bit-exact'
    # np.ascontiguousarray turns the 0-d num_batches_tracked into shape (1,): restore the recorded shapes
    return {k: v.reshape(shapes[k]) for k, v in sd.items()}


@functools.lru_cache(maxsize=None)
def _ultralytics_state_dict(scale):
    return rebuild_synthetic_state_dict(synthetic, osp.join(FIXTURES, f'yolo11{scale}_structure.json'))


def ultralytics_state_dict(scale):
    """The synthetic Ultralytics-layout state dict the fixtures of ``scale`` were recorded with (a fresh dict)."""
    return dict(_ultralytics_state_dict(scale))


def fixture(scale, kind):
    """Arrays of ``yolo11{scale}_{kind}.npz`` (kind: eval or loss)."""
    return dict(np.load(osp.join(FIXTURES, f'yolo11{scale}_{kind}.npz')))
