"""Ultralytics YOLO11 (8.3) and YOLO26 (8.4) state dicts -> this project's key names.

Same strategy as :mod:`.fasternet_converter`: a pure function maps the
foreign keys onto ours (:func:`convert_state_dict`), another checks the result
against a model's state dict (:func:`compare_state_dicts`);
``tools/model_converters/ultralytics_to_mmyolo.py`` is the command line around
them, reading the ``.pt`` with
:func:`fasternet_yolo11.engine.ultralytics_reader.load_ultralytics_checkpoint`. The two
families share the layer list; :func:`family_of` tells them apart by YOLO26's one-to-one
head branch.

Key mapping (Ultralytics -> here). Layers:
    model.0                 -> backbone.stem                 (Conv)
    model.1 / 3 / 5 / 7     -> backbone.stage1..4.0          (Conv 3x3 s2)
    model.2 / 4 / 6 / 8     -> backbone.stage1..4.1          (C3k2)
    model.9                 -> backbone.stage4.2             (SPPF)
    model.10                -> backbone.stage4.3             (C2PSA)
    model.13 / 16           -> neck.top_down_layers.0 / 1    (C3k2)
    model.17 / 20           -> neck.downsample_layers.0 / 1  (Conv 3x3 s2)
    model.19 / 22           -> neck.bottom_up_layers.0 / 1   (C3k2)
    model.23                -> bbox_head.head_module         (Detect)
    (model.11/12/14/15/18/21 are Upsample/Concat: no parameters)
Inside the modules (Conv's ``conv``/``bn`` names are ConvModule's and carry over unchanged):
    C3k2        cv1 -> main_conv, cv2 -> final_conv, m.i -> blocks.i (a C3k, a Bottleneck, or
                YOLO26's attention block: m.i.0 Bottleneck, m.i.1 PSABlock)
    C3k         cv1 -> main_conv, cv2 -> short_conv, cv3 -> final_conv, m.j -> blocks.j
    Bottleneck  cv1 -> conv1, cv2 -> conv2
    SPPF        cv1 -> conv1, cv2 -> conv2
    C2PSA       cv1 -> main_conv, cv2 -> final_conv, m.i -> blocks.i (PSABlock: attn.{qkv,proj,pe}, ffn.{0,1} as is)
    Detect      cv2.i -> reg_preds.i, cv3.i -> cls_preds.i (same nested indices); YOLO26's
                one2one_cv2.i / one2one_cv3.i -> one2one_reg_preds.i / one2one_cls_preds.i;
                YOLO11's dfl.conv.weight is dropped after checking it is arange(16): here the DFL
                integral is mmyolo's non-persistent ``proj`` buffer (YOLO26 has no DFL).
"""
import re
from collections import OrderedDict
from typing import Mapping, Tuple

import torch
from mmyolo.models.utils import make_round

from ...errors import CheckpointError, KeyMappingError
from ..layers.yolo11_layers import yolo11_channels

# Ultralytics layer index -> (prefix here, module kind)
LAYER_MAP = {
    0: ('backbone.stem', 'conv'),
    1: ('backbone.stage1.0', 'conv'),
    2: ('backbone.stage1.1', 'c3k2'),
    3: ('backbone.stage2.0', 'conv'),
    4: ('backbone.stage2.1', 'c3k2'),
    5: ('backbone.stage3.0', 'conv'),
    6: ('backbone.stage3.1', 'c3k2'),
    7: ('backbone.stage4.0', 'conv'),
    8: ('backbone.stage4.1', 'c3k2'),
    9: ('backbone.stage4.2', 'sppf'),
    10: ('backbone.stage4.3', 'c2psa'),
    13: ('neck.top_down_layers.0', 'c3k2'),
    16: ('neck.top_down_layers.1', 'c3k2'),
    17: ('neck.downsample_layers.0', 'conv'),
    19: ('neck.bottom_up_layers.0', 'c3k2'),
    20: ('neck.downsample_layers.1', 'conv'),
    22: ('neck.bottom_up_layers.1', 'c3k2'),
    23: ('bbox_head.head_module', 'detect'),
}
DETECT_LAYER = 23
DFL_KEY = f'model.{DETECT_LAYER}.dfl.conv.weight'

# per module kind: Ultralytics child -> (name here, kind of the child, whether an index follows it)
_CHILDREN = {
    'c3k2_bottleneck': {'cv1': ('main_conv', 'conv', False), 'cv2': ('final_conv', 'conv', False),
                        'm': ('blocks', 'bottleneck', True)},
    'c3k2_c3k': {'cv1': ('main_conv', 'conv', False), 'cv2': ('final_conv', 'conv', False),
                 'm': ('blocks', 'c3k', True)},
    'c3k2_attn': {'cv1': ('main_conv', 'conv', False), 'cv2': ('final_conv', 'conv', False),
                  'm': ('blocks', 'attn_block', True)},
    'attn_block': {'0': ('0', 'bottleneck', False), '1': ('1', 'psa', False)},
    'c3k': {'cv1': ('main_conv', 'conv', False), 'cv2': ('short_conv', 'conv', False),
            'cv3': ('final_conv', 'conv', False), 'm': ('blocks', 'bottleneck', True)},
    'bottleneck': {'cv1': ('conv1', 'conv', False), 'cv2': ('conv2', 'conv', False)},
    'sppf': {'cv1': ('conv1', 'conv', False), 'cv2': ('conv2', 'conv', False)},
    'c2psa': {'cv1': ('main_conv', 'conv', False), 'cv2': ('final_conv', 'conv', False),
              'm': ('blocks', 'psa', True)},
    'psa': {'attn': ('attn', 'attention', False), 'ffn': ('ffn', 'conv', True)},
    'attention': {'qkv': ('qkv', 'conv', False), 'proj': ('proj', 'conv', False), 'pe': ('pe', 'conv', False)},
    # per level the nested Sequential indices are the same here (checked against the model's keys)
    'detect': {'cv2': ('reg_preds', 'same', True), 'cv3': ('cls_preds', 'same', True),
               'one2one_cv2': ('one2one_reg_preds', 'same', True), 'one2one_cv3': ('one2one_cls_preds', 'same', True)},
}
_CONV_LEAVES = re.compile(r'^(conv\.weight|bn\.(weight|bias|running_mean|running_var|num_batches_tracked))$')


def _rename(rest: str, kind: str, key: str) -> str:
    """Rename the part ``rest`` of ``key`` that lies inside a module of ``kind``."""
    if kind == 'same':
        return rest
    if kind == 'conv':
        if not _CONV_LEAVES.match(rest):
            raise KeyMappingError(f'no mapping for {key!r}: unexpected Conv entry {rest!r}')
        return rest
    child, _, tail = rest.partition('.')
    if child not in _CHILDREN[kind]:
        raise KeyMappingError(f'no mapping for {key!r}: {child!r} is not a child of {kind}')
    name, child_kind, indexed = _CHILDREN[kind][child]
    if indexed:
        index, _, tail = tail.partition('.')
        if not index.isdigit():
            raise KeyMappingError(f'no mapping for {key!r}: expected an index after {child!r}')
        name = f'{name}.{index}'
    return f'{name}.{_rename(tail, child_kind, key)}'


def convert_key(key: str, block_kinds: Mapping[int, str] = None) -> str:
    """Map one Ultralytics key ``model.<i>.<...>`` to this repo's name (raises KeyMappingError if
    unknown). ``block_kinds``: the C3k2 layers whose blocks are C3k or YOLO26's attention block
    (:func:`c3k2_block_kinds`); the others hold Bottlenecks."""
    match = re.match(r'^model\.(\d+)\.(.+)$', key)
    if not match or int(match.group(1)) not in LAYER_MAP:
        raise KeyMappingError(f'no mapping for {key!r}: not a YOLO11/YOLO26 detection layer')
    layer = int(match.group(1))
    prefix, kind = LAYER_MAP[layer]
    if kind == 'c3k2':  # its blocks are C3k, attention or Bottleneck: decided per layer, not per key
        kind = f'c3k2_{(block_kinds or {}).get(layer, "bottleneck")}'
    return f'{prefix}.{_rename(match.group(2), kind, key)}'


def c3k2_block_kinds(keys) -> dict:
    """C3k2 layer -> the kind of its blocks when not a Bottleneck: ``c3k`` (``model.<i>.m.<j>.cv3``)
    or ``attn`` (``model.<i>.m.<j>.1.attn``)."""
    kinds = {}
    for key in keys:
        m = re.match(r'^model\.(\d+)\.m\.\d+\.(cv3|1\.attn)\.', key)
        if m:
            kinds[int(m.group(1))] = 'c3k' if m.group(2) == 'cv3' else 'attn'
    return kinds


def family_of(keys) -> str:
    """``yolo26`` (its head has the one-to-one branch) or ``yolo11``."""
    return 'yolo26' if any(k.startswith(f'model.{DETECT_LAYER}.one2one_') for k in keys) else 'yolo11'


def convert_state_dict(src: Mapping[str, torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
    """Ultralytics YOLO11 or YOLO26 ``DetectionModel.state_dict()`` -> state dict of this repo's
    detector of the same family.

    Half-precision tensors (Ultralytics saves its models in fp16) become fp32. Raises
    ``KeyMappingError`` for a key it cannot map and ``CheckpointError`` when the DFL weight is not
    ``arange(reg_max)``.
    """
    block_kinds = c3k2_block_kinds(src)
    out = OrderedDict()
    for key, value in src.items():
        if key == DFL_KEY:
            expected = torch.arange(value.numel(), dtype=torch.float32).view_as(value)
            if not torch.equal(value.float(), expected):
                raise CheckpointError(f'{key} is not arange({value.numel()}); it cannot become the fixed proj buffer')
            continue
        out[convert_key(key, block_kinds)] = value.float() if value.dtype == torch.float16 else value
    return out


def compare_state_dicts(converted: Mapping[str, torch.Tensor],
                        target: Mapping[str, torch.Tensor]) -> None:
    """Raise ``KeyError``/``ValueError`` unless both have the same keys with the same shapes."""
    missing = sorted(set(target) - set(converted))
    unexpected = sorted(set(converted) - set(target))
    if missing or unexpected:
        raise KeyMappingError(f'{len(missing)} target keys without a source (first: {missing[:5]}); '
                       f'{len(unexpected)} converted keys the model does not have (first: {unexpected[:5]})')
    bad = [(k, tuple(converted[k].shape), tuple(target[k].shape)) for k in target
           if converted[k].shape != target[k].shape]
    if bad:
        raise CheckpointError(f'{len(bad)} shape mismatches (key, converted, target), first: {bad[:5]}')


def infer_scale(src: Mapping[str, torch.Tensor], scales: Mapping) -> Tuple[str, int]:
    """(scale name, num_classes) of an Ultralytics YOLO11 or YOLO26 state dict, from its shapes
    (the two share the scale table).

    ``scales`` is the table of ``configs/_base_/yolo11_scales.py`` (name -> scaling arguments).

    The stem width is C(64) and layer 2 has 2 blocks only when depth is 1.0: together they tell the five
    scales apart (m and l share widths, differ in depth).
    """
    try:
        stem = src['model.0.conv.weight'].shape[0]
        num_classes = src[f'model.{DETECT_LAYER}.cv3.0.2.weight'].shape[0]
    except KeyError as e:
        raise KeyMappingError(f'not a YOLO11/YOLO26 detection state dict: no {e}') from None
    blocks = len({k.split('.')[3] for k in src if k.startswith('model.2.m.')})
    for name, f in scales.items():
        if (yolo11_channels(64, f['widen_factor'], f['max_channels']) == stem
                and make_round(2, f['deepen_factor']) == blocks):
            return name, num_classes
    raise CheckpointError(f'no YOLO scale has a {stem}-channel stem and {blocks} blocks in layer 2')
