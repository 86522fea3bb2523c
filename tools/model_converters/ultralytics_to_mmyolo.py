"""Convert Ultralytics YOLO11 (8.3) or YOLO26 (8.4) detection weights to this repo's checkpoint format.

    python tools/model_converters/ultralytics_to_mmyolo.py --src yolo26n.pt --dst yolo26n_mmyolo.pth
    python tools/model_converters/ultralytics_to_mmyolo.py --src sd.pth --dst out.pth --config configs/yolo11n_coco.py

``--src`` is either an Ultralytics ``.pt`` or a plain ``torch.save(model.state_dict())`` file of a
``DetectionModel`` (``model.<i>.*`` keys). A ``.pt`` pickles the whole model, so it is read by
``fasternet_yolo11.engine.ultralytics_reader.load_ultralytics_checkpoint``, which unpickles it with inert
stand-ins for Ultralytics' classes and refuses every other global: ultralytics need not be installed,
and a tampered file cannot run code. The family (YOLO26 has a one-to-one head branch), the scale
(n/s/m/l/x, from the tensor shapes) and the class count are read from the weights; the converted
state dict must match the detector of ``--config`` (default ``configs/{yolo11,yolo26}{scale}_coco.py``
with the weights' class count) key for key and shape for shape, or the tool stops with an error
naming the first mismatches.

The output (``{'state_dict': ..., 'meta': {...}}``) loads with ``load_from=`` / ``init_cfg`` or
``tools/test.py CONFIG out.pth``. The key mapping is in
``fasternet_yolo11/models/utils/ultralytics_converter.py`` (its module docstring).
"""
import argparse
import os.path as osp
from typing import Dict, Mapping, Optional, Tuple

import torch

from fasternet_yolo11.engine.weight_transfer import read_state_dict_file
from fasternet_yolo11.models.utils import ultralytics_converter
from fasternet_yolo11.models.utils.ultralytics_converter import compare_state_dicts, convert_state_dict, family_of
from fasternet_yolo11.utils import cli
from fasternet_yolo11.utils.cli import REPO_ROOT


def load_scale_table() -> dict:
    """The scale table of configs/_base_/yolo11_scales.py."""
    from mmengine.config import Config
    return Config.fromfile(osp.join(REPO_ROOT, 'configs', '_base_', 'yolo11_scales.py')).scales


def build_target_state_dict(config: str, num_classes: Optional[int] = None) -> Dict[str, torch.Tensor]:
    """State dict of the detector of ``config`` (with ``num_classes`` set in head and assigner if given)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmyolo.registry import MODELS
    cfg = Config.fromfile(config)
    if num_classes is not None:
        cfg.model.bbox_head.head_module.num_classes = num_classes
        cfg.model.train_cfg.assigner.num_classes = num_classes
    init_default_scope(cfg.get('default_scope', 'mmyolo'))
    return MODELS.build(cfg.model).state_dict()


def infer_scale(src: Mapping[str, torch.Tensor]) -> Tuple[str, int]:
    """(scale, num_classes) of an Ultralytics state dict, against the scale table of the configs."""
    return ultralytics_converter.infer_scale(src, load_scale_table())


def read_source(path: str) -> Tuple[Dict[str, torch.Tensor], dict]:
    """(Ultralytics-layout state dict, what is known of its origin) from a plain state-dict file or an
    Ultralytics ``.pt``; a file that is neither, or that could run code, raises a one-line error."""
    return read_state_dict_file(path)


def load_source(path: str) -> Dict[str, torch.Tensor]:
    """Ultralytics-layout state dict from an Ultralytics ``.pt`` or a plain state-dict file."""
    return read_source(path)[0]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0] + ' See the module docstring for the key mapping.',
        epilog='An Ultralytics .pt (a pickled model) is read without running its pickle and without the '
               'ultralytics package: its model classes become inert stand-ins, and a file that names any other '
               'global (os.system, builtins.eval, ...) is refused with exit code 2. A plain '
               'torch.save(model.state_dict()) file is read with weights_only=True.')
    parser.add_argument('--src', required=True,
                        help='Ultralytics YOLO11/YOLO26 .pt, or a state_dict file of its DetectionModel')
    parser.add_argument('--dst', required=True, help='output checkpoint for this repo')
    parser.add_argument('--config', default=None,
                        help='config whose model the result must match (default: configs/{family}{scale}_coco.py '
                             'of the family and scale read from the weights, num_classes from the weights)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cli.check_file(args.src, 'source checkpoint')
    src, origin = read_source(args.src)
    family = family_of(src)
    scale, num_classes = infer_scale(src)
    converted = convert_state_dict(src)
    config = args.config or osp.join(REPO_ROOT, 'configs', f'{family}{scale}_coco.py')
    target = build_target_state_dict(config, None if args.config else num_classes)
    compare_state_dicts(converted, target)
    meta = dict(converted_from=osp.basename(args.src), family=family, scale=scale,
                config=osp.relpath(config, REPO_ROOT),
                **origin)
    torch.save({'state_dict': converted, 'meta': meta}, args.dst)
    print(f'{family.upper()}{scale} ({num_classes} classes): {len(converted)} tensors -> {args.dst} (matches {config})')


if __name__ == '__main__':
    cli.main(main)
