"""Start a detector from pretrained weights by module correspondence (``tools/train.py --weights``).

``--weights PATH [PATH ...]`` takes, in any order (a later file wins where two provide a tensor):

* a checkpoint of this project (``state_dict`` in our names: any line, any class count);
* YOLO11 and YOLO26 weights: converted by ``tools/model_converters/ultralytics_to_mmyolo.py``, or an Ultralytics
  ``.pt`` read by the restricted reader (:func:`~fasternet_yolo11.engine.checkpoint_io.load_ultralytics_checkpoint`)
  and renamed by :mod:`~fasternet_yolo11.models.utils.ultralytics_converter`;
* FasterNet ImageNet weights (official, timm or our backbone's names): the backbone.

Keys are compared by the *module* they belong to, not by raw name: a plain YOLO11 keeps SPPF and
C2PSA at the end of its backbone (``backbone.stage4.2``/``.3``), a FasterNet line builds them as
the neck's top reduce layer (``neck.reduce_layers.2.0``/``.1``); both are ``sppf``/``c2psa`` here
(:data:`MODULE_PLACES`). Backbones correspond only within one family (CSPDarknet or FasterNet).
A tensor is copied when its module, its name inside the module and its shape agree. In the head's
class branch (:data:`CLASS_BRANCH`) a shape that differs comes from the class count: the last conv
has one output per class, and YOLO11's class-branch width is ``max(c1, min(num_classes, 100))``,
so between two counts at most ``c1`` (64 at n: 2 vs 20 classes) only the class convs differ,
while 80 -> 2 at n changes the whole branch. Those tensors keep their initial values
(re-initialised, ``classes`` in the table); the box branch and everything else transfer.

The result is a partial state dict in the target's names; ``tools/train.py`` writes it to
``<work_dir>/transferred_weights.pth`` and sets ``load_from`` to it, so mmengine's own loading
(non-strict), the EMA copy and ``--resume`` all work as with any ``load_from``.
"""
import io
import os.path as osp
import pickle
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch

from ..errors import CheckpointError, MissingFileError
from ..models.layers.yolo11_layers import fold_3x3_to_2x2
from .checkpoint_io import UnsafeCheckpointError, load_weights_only
from .ultralytics_reader import load_ultralytics_checkpoint

# (prefix of a key in our detectors, the module it names in the correspondence); the first match wins.
MODULE_PLACES = (
    ('backbone.stage4.2.', 'sppf.'),  # YOLO11CSPDarknet: SPPF, C2PSA end the backbone
    ('backbone.stage4.3.', 'c2psa.'),
    ('neck.reduce_layers.2.0.', 'sppf.'),  # YOLO11PAFPN(p5_context=True): the FasterNet lines
    ('neck.reduce_layers.2.1.', 'c2psa.'),
    ('neck.', 'neck.'),
    ('bbox_head.', 'head.'),
)
# the head's class branches (YOLO26 has a one-to-one one too): where a shape mismatch means another class count
CLASS_BRANCH = ('bbox_head.head_module.cls_preds.', 'bbox_head.head_module.one2one_cls_preds.')
# the class logits conv of the first level: its output count is the class count
CLASS_LOGITS = 'bbox_head.head_module.cls_preds.0.2.weight'
# module (first part of a corresponding name) -> the group of the transfer table
GROUPS = {'backbone': 'backbone', 'sppf': 'SPPF + C2PSA', 'c2psa': 'SPPF + C2PSA', 'neck': 'neck',
          'head': 'head'}
GROUP_ORDER = ('backbone', 'SPPF + C2PSA', 'neck', 'head')
STATUS = ('transferred', 'folded', 'shape', 'classes', 'missing')


def backbone_family(keys) -> str:
    """``fasternet`` or ``cspdarknet`` from a detector state dict's backbone keys."""
    keys = list(keys)
    if any(k.startswith('backbone.patch_embed.') for k in keys):
        return 'fasternet'
    if any(k.startswith('backbone.stem.') for k in keys):
        return 'cspdarknet'
    return 'other'


def corresponding_name(key: str, family: str) -> Optional[str]:
    """The module-level name of a detector key (``sppf.cv1.conv.weight``, ``backbone/fasternet.…``),
    or None for a key outside backbone, neck and head."""
    for prefix, place in MODULE_PLACES:
        if key.startswith(prefix):
            return place + key[len(prefix):]
    if key.startswith('backbone.'):
        return f'backbone/{family}.' + key[len('backbone.'):]
    return None


def group_of(name: str) -> str:
    return GROUPS[name.split('.')[0].split('/')[0]]


@dataclass
class Source:
    """One ``--weights`` file read into detector names."""
    path: str
    kind: str  # 'detector' | 'ultralytics' | 'fasternet'
    state_dict: Dict[str, torch.Tensor]


@dataclass
class TransferResult:
    """``state_dict``: target key -> tensor to load; ``status``: target key -> one of
    :data:`STATUS`; ``origin``: target key -> path it came from (transferred keys)."""
    state_dict: 'OrderedDict[str, torch.Tensor]' = field(default_factory=OrderedDict)
    status: Dict[str, str] = field(default_factory=dict)
    origin: Dict[str, str] = field(default_factory=dict)
    sources: List[Source] = field(default_factory=list)
    # (classes of the model, classes of the weights) when they differ
    class_counts: Optional[Tuple[int, int]] = None
    _groups: Dict[str, str] = field(default_factory=dict, repr=False)  # target key -> group

    def counts(self) -> Dict[str, Dict[str, int]]:
        """group -> {tensors, transferred, shape, classes, missing}."""
        out = {g: dict(tensors=0, **{s: 0 for s in STATUS}) for g in GROUP_ORDER}
        for key, status in self.status.items():
            row = out[self._groups[key]]
            row['tensors'] += 1
            row[status] += 1
        return out

    def keys_with(self, status: str, group: Optional[str] = None) -> List[str]:
        return [k for k, s in self.status.items() if s == status and (group is None or self._groups[k] == group)]


def read_state_dict_file(path) -> Tuple[dict, dict]:
    """(state dict, origin) of a weights file of any kind, read without running code: a torch file
    of tensors (weights-only; a ``state_dict`` or ``model`` inside a checkpoint is unwrapped), or an
    Ultralytics ``.pt`` (pickled modules: :func:`load_ultralytics_checkpoint`; ``origin`` then holds
    ``ultralytics_version``, ``ultralytics_date`` and ``ultralytics_weights``, else it is empty).
    The keys are the file's own. Raises CheckpointError (a ValueError; one line naming the file)
    otherwise, including for a file that could run code."""
    path = str(path)
    try:
        obj = load_weights_only(path, map_location='cpu')
    except UnsafeCheckpointError:  # pickled objects: an Ultralytics model, read without running its pickle
        try:
            ckpt = load_ultralytics_checkpoint(path)
        except pickle.UnpicklingError as err:  # UnsafeCheckpointError included
            raise CheckpointError(str(err)) from None
        origin = dict(ultralytics_version=ckpt['meta']['version'], ultralytics_date=ckpt['meta']['date'],
                      ultralytics_weights=ckpt['source'])
        return dict(ckpt['state_dict']), {k: v for k, v in origin.items() if isinstance(v, str)}
    except RuntimeError as err:  # e.g. a truncated zip archive
        raise CheckpointError(f'cannot read {path!r}: {str(err).splitlines()[0]}') from None
    for key in ('state_dict', 'model'):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f'{path} holds no state dict of tensors')
    return dict(obj), {}


def read_weights(path: str, what: str = '--weights') -> Source:
    """A ``--weights`` file in detector names (see the module docstring); ``what`` names the file's
    role in the messages.

    Raises:
        MissingFileError, CheckpointError: one line naming the file and what is wrong (also for a
        file that could run code).
    """
    from ..models.utils import fasternet_converter, ultralytics_converter
    if not osp.isfile(path):
        raise MissingFileError(f'{what} file not found: {path!r}')
    try:
        state, _ = read_state_dict_file(path)
    except ValueError as err:
        raise CheckpointError(f'{what}: {err}') from None
    if any(k.startswith('model.') and k.split('.')[1].isdigit() for k in state):  # Ultralytics' names
        try:
            return Source(path, 'ultralytics', dict(ultralytics_converter.convert_state_dict(state)))
        except (KeyError, ValueError) as err:
            raise CheckpointError(f'{what} {path!r} looks like Ultralytics weights but: {err}') from None
    if any(k.startswith(('backbone.', 'neck.', 'bbox_head.')) for k in state) \
            and not any(k.startswith('patch_embed.') for k in state):
        return Source(path, 'detector', {k: v for k, v in state.items()
                                         if k.startswith(('backbone.', 'neck.', 'bbox_head.'))})
    try:
        converted, _ = fasternet_converter.convert_fasternet_state_dict(state)
    except ValueError as err:
        raise CheckpointError(f'{what} {path!r}: {err}') from None
    if fasternet_converter.find_prefix(state) is None:
        raise CheckpointError(f'{what} {path!r} is neither a detector checkpoint, YOLO11/YOLO26 weights nor a '
                              'FasterNet backbone (no backbone./neck./bbox_head., model.<i>. or patch_embed. keys)')
    return Source(path, 'fasternet', {'backbone.' + k: v for k, v in converted.items()})


def foldable(value: torch.Tensor, want: Tuple[int, ...]) -> bool:
    """A pretrained 3x3 conv kernel for a 2x2 one of the same widths (a Down2x2 line's
    downsampling: :func:`~fasternet_yolo11.models.layers.yolo11_layers.fold_3x3_to_2x2`)."""
    return value.dim() == 4 and tuple(value.shape[-2:]) == (3, 3) and tuple(want[-2:]) == (2, 2) \
        and tuple(value.shape[:2]) == tuple(want[:2])


def transfer(target: Mapping[str, torch.Tensor], sources: Sequence[Source], fold: bool = True) -> TransferResult:
    """What ``sources`` give the model whose state dict (or shapes) is ``target``.

    ``target``: key -> tensor (a meta-device model's state dict is enough). Keys outside
    backbone/neck/head (the data preprocessor has none) are not considered. ``fold``: a 2x2
    downsampling kernel starts from the pretrained 3x3 one folded (``folded`` in the table);
    False leaves it at its initial values (``shape``)."""
    family = backbone_family(target)
    result = TransferResult(sources=list(sources))
    wanted = {}
    for key in target:
        name = corresponding_name(key, family)
        if name is not None:
            wanted[name] = key
            result.status[key] = 'missing'
            result._groups[key] = group_of(name)
    for source in sources:
        src_family = backbone_family(source.state_dict) if source.kind == 'detector' else \
            ('fasternet' if source.kind == 'fasternet' else 'cspdarknet')
        for src_key, value in source.state_dict.items():
            name = corresponding_name(src_key, src_family)
            key = wanted.get(name)
            if key is None:
                continue
            want = tuple(target[key].shape)
            if tuple(value.shape) == want:
                result.state_dict[key] = value  # load_state_dict copies it into the model
                result.status[key], result.origin[key] = 'transferred', source.path
            elif fold and foldable(value, want):
                result.state_dict[key] = fold_3x3_to_2x2(value)
                result.status[key], result.origin[key] = 'folded', source.path
            elif result.status[key] not in ('transferred', 'folded'):
                result.status[key] = 'classes' if key.startswith(CLASS_BRANCH) else 'shape'
        theirs = source.state_dict.get(CLASS_LOGITS)
        if theirs is not None and CLASS_LOGITS in target and theirs.shape[0] != target[CLASS_LOGITS].shape[0]:
            result.class_counts = (int(target[CLASS_LOGITS].shape[0]), int(theirs.shape[0]))
    return result


def format_table(result: TransferResult) -> str:
    """One row per module group: tensors, transferred, skipped for shape, class convs, missing."""
    lines = ['weights transfer by module correspondence (--weights):']
    for s in result.sources:
        lines.append(f'  {s.path}: {s.kind}, {len(s.state_dict)} tensors')
    header = ('group', 'tensors', 'transferred', 'folded 3x3->2x2', 'skipped (shape)', 're-init (classes)',
              'missing')
    rows = [header]
    for group, c in result.counts().items():
        if c['tensors']:
            rows.append((group, c['tensors'], c['transferred'], c['folded'], c['shape'], c['classes'],
                         c['missing']))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    for r in rows:
        lines.append('  ' + '  '.join(str(v).ljust(w) if i == 0 else str(v).rjust(w)
                                      for i, (v, w) in enumerate(zip(r, widths))))
    reinit = result.keys_with('classes')
    if reinit:
        ours, theirs = result.class_counts or ('this model\'s', 'other')
        lines.append(f'  head class branch{"es" if any(".one2one_cls" in k for k in reinit) else ""}: '
                     f'{len(reinit)} tensors re-initialised for {ours} classes '
                     f'(the weights have {theirs})')
    for status, what in (('shape', 'skipped for shape'), ('missing', 'missing')):
        for group in GROUP_ORDER:
            keys = result.keys_with(status, group)
            if keys:
                more = f' (+{len(keys) - 3} more)' if len(keys) > 3 else ''
                lines.append(f'  {group} {what}: {", ".join(keys[:3])}{more}')
    return '\n'.join(lines)


def model_state_shapes(cfg) -> Dict[str, torch.Tensor]:
    """The state dict of ``cfg.model`` built on the meta device (shapes and dtypes, no memory)."""
    from mmengine.registry import init_default_scope
    from mmyolo.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmyolo'))
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    return model.state_dict()


def save_transferred(result: TransferResult, path: str) -> str:
    """Write a ``load_from`` checkpoint of the transferred tensors (loaded non-strictly) to
    ``path`` (written, then renamed); returns ``path``."""
    from .checkpoint_io import atomic_write
    ckpt = {'state_dict': result.state_dict,
            'meta': {'weights_transfer': {
                'sources': [dict(path=s.path, kind=s.kind) for s in result.sources],
                'counts': result.counts()}}}
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    atomic_write(buf.getvalue(), path)
    return path
