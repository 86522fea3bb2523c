"""Convert an Ultralytics YOLO11 detection checkpoint into this repository's layout.

    python tools/model_converters/yolo11_to_mmyolo.py --src yolo11n.pt --dst yolo11n_mmyolo.pth
    python tools/model_converters/yolo11_to_mmyolo.py --src sd.pth --dst out.pth --config configs/yolo11s_coco.py

SRC is either
  * an Ultralytics ``.pt`` checkpoint (a pickled ``DetectionModel``): read by
    ``fasternet_yolo11.engine.checkpoint_io.load_ultralytics_checkpoint``, which unpickles it with inert
    stand-ins for the model's classes, runs nothing from the file, needs no ``ultralytics`` package and
    refuses (one ``error:`` line, exit code 2) a file whose pickle names any other global, such as
    ``os.system``. The weights are ``ema`` when present, else ``model`` (a final Ultralytics file keeps
    the EMA weights there, in fp16); or
  * a plain ``torch.save(model.state_dict())`` file of a ``DetectionModel`` (keys ``model.0...``), or a
    dict holding one under ``state_dict``/``model``; read with ``weights_only=True``.
DST is ``{'state_dict': ..., 'meta': ...}`` (tensors and strings only), loadable with ``load_from``; ``meta``
names the source file, the scale and config, and for an Ultralytics ``.pt`` its ``ultralytics_version``,
``ultralytics_date`` and ``ultralytics_weights`` (``ema`` or ``model``).

The result is checked against the state dict of the model built from ``--config`` (default: the
``configs/yolo11{scale}_coco.py`` of the scale inferred from the weights' shapes, with ``num_classes``
taken from the weights): any key missing on either side, or any shape that differs, is an error.

The key mapping is in ``fasternet_yolo11/models/utils/yolo11_converter.py`` (its module docstring).
"""
import argparse
import os.path as osp
from typing import Dict, Mapping, Optional, Tuple

import torch

from fasternet_yolo11.engine.weight_transfer import read_state_dict_file
from fasternet_yolo11.models.utils import yolo11_converter
from fasternet_yolo11.models.utils.yolo11_converter import compare_state_dicts, convert_state_dict
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
    return yolo11_converter.infer_scale(src, load_scale_table())


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
                        help='Ultralytics YOLO11 .pt, or a state_dict file of its DetectionModel')
    parser.add_argument('--dst', required=True, help='output checkpoint for this repo')
    parser.add_argument('--config', default=None,
                        help='config whose model the result must match (default: configs/yolo11{scale}_coco.py '
                             'of the scale inferred from the weights, num_classes from the weights)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cli.check_file(args.src, 'source checkpoint')
    src, origin = read_source(args.src)
    scale, num_classes = infer_scale(src)
    converted = convert_state_dict(src)
    config = args.config or osp.join(REPO_ROOT, 'configs', f'yolo11{scale}_coco.py')
    target = build_target_state_dict(config, None if args.config else num_classes)
    compare_state_dicts(converted, target)
    meta = dict(converted_from=osp.basename(args.src), scale=scale, config=osp.relpath(config, REPO_ROOT),
                **origin)
    torch.save({'state_dict': converted, 'meta': meta}, args.dst)
    print(f'YOLO11{scale} ({num_classes} classes): {len(converted)} tensors -> {args.dst} (matches {config})')


if __name__ == '__main__':
    cli.main(main)
