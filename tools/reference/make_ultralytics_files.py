"""Write tiny, genuine Ultralytics checkpoint files for the unpickler tests.

Runs ONLY in a reference venv (ultralytics is AGPL-3.0 and is never installed
in the project venv; nothing from it is copied into this repo). Which file is
written depends on the Ultralytics version of the venv that runs it::

    # ultralytics 8.3.0 -> yolo11_tiny_8.3.0.pt (+ .json)
    YOLO_OFFLINE=true unshare -n /opt/ultra-venv/bin/python \\
        tools/reference/make_ultralytics_files.py \\
        --out tests/fixtures/ultralytics_files
    # ultralytics 8.4.190 -> yolo26_tiny_8.4.190.pt (+ .json)
    YOLO_OFFLINE=true unshare -n /opt/ul26-venv/bin/python \\
        tools/reference/make_ultralytics_files.py \\
        --out tests/fixtures/ultralytics_files

The model is built from ``yolo11_tiny.yaml`` / ``yolo26_tiny.yaml`` in the
output folder (written by this script: the layer lists of yolo11.yaml /
yolo26.yaml with one tiny scale and nc=2), filled with the synthetic weights
of the matching reference fixtures, and saved by Ultralytics' own code:

* 8.4.190: ``YOLO(yaml).save(path)`` (``Model.save``: the model in fp16 plus
  metadata).
* 8.3.0: ``Model.save`` fails for a model built from a yaml there
  (``{**self.ckpt, ...}`` with ``ckpt=None``), so the file is written by
  ``ultralytics.utils.torch_utils.strip_optimizer``, the function that
  finalises every trained checkpoint (``best.pt`` and the released
  ``yolo11n.pt``): it reads a trainer-style checkpoint (``ema`` = the model
  in fp16, no optimizer state) and writes the stripped file.

Next to each ``.pt`` a ``.json`` records what tests can check without
Ultralytics: the checkpoint's top-level keys and value types, the state-dict
keys/shapes/dtypes and their sha256, the parameter count, and every global
(``module.name``) the pickle references.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import pickletools
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _reference_common as common  # noqa: E402

NC = 2

# The smallest widths that keep the yolo11.yaml / yolo26.yaml layer lists.
# 8.3.0's C2PSA uses num_heads = c // 64 (c = half the P5 width), so P5 must
# be >= 128 channels there: width 0.125 (channels 8/16/32/64/128). 8.4.190
# uses max(c // 64, 1), so YOLO26 can go down to width 1/32 (channels
# 8/8/8/16/32, the minimum of make_divisible(., 8)).
VARIANTS = {
    '8.3.0': dict(
        arch='yolo11',
        scale=(0.50, 0.125, 1024),
        synthetic='tests/fixtures/yolo11_reference/synthetic_weights.py',
        writer='strip_optimizer'),
    '8.4.190': dict(
        arch='yolo26',
        scale=(0.50, 0.03125, 1024),
        synthetic='tests/fixtures/yolo26_reference/synthetic_weights.py',
        writer='YOLO.save'),
}

# Our own transcription of the layer lists ([from, repeats, module, args]).
BACKBONE = [
    '[-1, 1, Conv, [64, 3, 2]]',
    '[-1, 1, Conv, [128, 3, 2]]',
    '[-1, 2, C3k2, [256, False, 0.25]]',
    '[-1, 1, Conv, [256, 3, 2]]',
    '[-1, 2, C3k2, [512, False, 0.25]]',
    '[-1, 1, Conv, [512, 3, 2]]',
    '[-1, 2, C3k2, [512, True]]',
    '[-1, 1, Conv, [1024, 3, 2]]',
    '[-1, 2, C3k2, [1024, True]]',
    '{sppf}',
    '[-1, 2, C2PSA, [1024]]',
]
HEAD = [
    '[-1, 1, nn.Upsample, [None, 2, "nearest"]]',
    '[[-1, 6], 1, Concat, [1]]',
    '[-1, 2, C3k2, [512, {c3k_neck}]]',
    '[-1, 1, nn.Upsample, [None, 2, "nearest"]]',
    '[[-1, 4], 1, Concat, [1]]',
    '[-1, 2, C3k2, [256, {c3k_neck}]]',
    '[-1, 1, Conv, [256, 3, 2]]',
    '[[-1, 13], 1, Concat, [1]]',
    '[-1, 2, C3k2, [512, {c3k_neck}]]',
    '[-1, 1, Conv, [512, 3, 2]]',
    '[[-1, 10], 1, Concat, [1]]',
    '{last_c3k2}',
    '[[16, 19, 22], 1, Detect, [nc]]',
]
ARCH = {
    'yolo11': dict(
        extra=[],
        sppf='[-1, 1, SPPF, [1024, 5]]',
        c3k_neck='False',
        last_c3k2='[-1, 2, C3k2, [1024, True]]'),
    'yolo26': dict(
        extra=['end2end: True', 'reg_max: 1'],
        sppf='[-1, 1, SPPF, [1024, 5, 3, True]]',
        c3k_neck='True',
        last_c3k2='[-1, 1, C3k2, [1024, True, 0.5, True]]'),
}


def yaml_text(arch, scale):
    a = ARCH[arch]
    depth, width, max_ch = scale
    fmt = dict(
        sppf=a['sppf'], c3k_neck=a['c3k_neck'], last_c3k2=a['last_c3k2'])
    lines = [
        f'# Tiny {arch.upper()} for the restricted-unpickler tests: the layer',
        f'# list of Ultralytics\' {arch}.yaml, one tiny scale, nc={NC}.',
        '# Written by tools/reference/make_ultralytics_files.py.',
        f'nc: {NC}',
        *a['extra'],
        'scales:',
        # a single key; the file name carries no scale letter, so
        # Ultralytics warns "no model scale passed" and uses this one
        f'  n: [{depth}, {width}, {max_ch}]',
        'backbone:',
        *('  - ' + row.format(**fmt) for row in BACKBONE),
        'head:',
        *('  - ' + row.format(**fmt) for row in HEAD),
    ]
    return '\n'.join(lines) + '\n'


def pickle_globals(pt_path):
    """Every (module, name) the checkpoint's data.pkl references."""
    with zipfile.ZipFile(pt_path) as zf:
        name = next(n for n in zf.namelist() if n.endswith('/data.pkl'))
        data = zf.read(name)
    found = set()
    strings = []  # for STACK_GLOBAL (protocol >= 4)
    for op, arg, _ in pickletools.genops(data):
        if op.name == 'GLOBAL':
            module, attr = arg.split(' ', 1)
            found.add(f'{module}.{attr}')
        elif op.name in ('SHORT_BINUNICODE', 'BINUNICODE', 'UNICODE'):
            strings.append(arg)
        elif op.name == 'STACK_GLOBAL':
            found.add(f'{strings[-2]}.{strings[-1]}')
    return sorted(found)


def type_name(value):
    t = type(value)
    return f'{t.__module__}.{t.__qualname__}'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        '--out',
        type=Path,
        required=True,
        help='output folder (tests/fixtures/ultralytics_files)')
    args = parser.parse_args(argv)
    common.check_sandbox()
    import torch
    import ultralytics
    from ultralytics import YOLO

    version = ultralytics.__version__
    if version not in VARIANTS:
        sys.exit(f'ultralytics {version}: expected one of {list(VARIANTS)}')
    var = VARIANTS[version]
    arch = var['arch']
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    yaml_path = out / f'{arch}_tiny.yaml'
    yaml_path.write_text(yaml_text(arch, var['scale']))
    pt_path = out / f'{arch}_tiny_{version}.pt'

    yolo = YOLO(str(yaml_path), task='detect')
    model = yolo.model
    sw_path = common.REPO_ROOT / var['synthetic']
    sw = common.load_module(sw_path.stem + '_sw', sw_path)
    synthetic = common.synthetic_for(model, sw, sw.DEFAULT_SEED)
    model.load_state_dict(synthetic, strict=True)

    if var['writer'] == 'YOLO.save':
        yolo.save(str(pt_path))
    else:
        from ultralytics.utils.torch_utils import strip_optimizer
        tmp = out / f'.{arch}_tiny_trainer_ckpt.pt'
        # The fields of BaseTrainer.save_model() for a model that has not
        # been trained (no optimizer state, EMA = the model in fp16).
        torch.save(
            {
                'epoch': 0,
                'best_fitness': None,
                'model': None,
                'ema': copy.deepcopy(model).half(),
                'updates': 0,
                'optimizer': None,
                'train_args': {},
                'train_metrics': {},
                'train_results': {},
            }, tmp)
        try:
            strip_optimizer(str(tmp), s=str(pt_path))
        finally:
            tmp.unlink()

    # Read it back with Ultralytics' own loader (a full unpickle, in this sandboxed reference venv only).
    from ultralytics.nn.tasks import torch_safe_load
    ckpt, _ = torch_safe_load(str(pt_path))
    saved = ckpt['model']
    sd = saved.state_dict()
    # (the YOLO11 synthetic module returns 0-d entries such as
    # num_batches_tracked with shape (1,); load_state_dict accepts that)
    expected = {
        k: (v.half() if v.is_floating_point() else v).reshape(sd[k].shape)
        for k, v in synthetic.items() if k in sd
    }
    same_values = list(sd) == list(expected) and all(
        torch.equal(sd[k], expected[k]) for k in sd)
    record = {}
    record.update({
        'file': pt_path.name,
        'size_bytes': pt_path.stat().st_size,
        'sha256_of_file': hashlib.sha256(pt_path.read_bytes()).hexdigest(),
        'note': ('the file holds the save date, so its bytes (and sha256) '
                 'change on every rerun; the state dict does not'),
        'ultralytics_version': version,
        'torch_version': torch.__version__,
        'writer': var['writer'],
        'yaml': yaml_path.name,
        'scale_[depth,width,max_channels]': list(var['scale']),
        'nc': NC,
        'synthetic_weights': {
            'module': var['synthetic'],
            'seed': sw.DEFAULT_SEED,
            'saved_values': 'synthetic_state_dict(...) cast to float16 '
                            '(int64 num_batches_tracked unchanged)',
            'saved_equals_synthetic_half': same_values,
        },
        'checkpoint_keys': {k: type_name(v)
                            for k, v in ckpt.items()},
        'model_class': type_name(saved),
        'model_yaml': saved.yaml,
        'num_params': common.n_params(saved),
        'num_state_dict_entries': len(sd),
        'state_dict_sha256': common.state_dict_sha256(sd),
        'state_dict': [[k, list(v.shape),
                        common.dtype_name(v.dtype)] for k, v in sd.items()],
        'pickle_globals': pickle_globals(pt_path),
    })
    json_path = out / f'{arch}_tiny_{version}.json'
    json_path.write_text(json.dumps(record, indent=1, default=str) + '\n')
    print(f'{pt_path.name}: {record["size_bytes"]:,} bytes, '
          f'{record["num_params"]:,} params, {len(sd)} entries, '
          f'values == synthetic.half(): {same_values}, '
          f'{len(record["pickle_globals"])} pickle globals')
    return 0 if same_values else 1


if __name__ == '__main__':
    sys.exit(main())
