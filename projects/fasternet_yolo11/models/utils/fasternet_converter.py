"""FasterNet checkpoints in their public layouts -> this project's key names.

Same strategy as :mod:`.ultralytics_converter`: a pure function maps foreign keys
onto ours, another checks the result against the model, and the loading path
calls both (here :meth:`FasterNet._load_from_state_dict`, so ``init_cfg``
Pretrained, ``load_from`` and resume all read every layout).

Official layout (GitHub release files such as
``fasternet_t0-epoch=281-val_acc1=71.9180.pth``; a raw state dict or one
wrapped in ``state_dict``/``model``, keys possibly prefixed, e.g. ``model.``
in the Lightning checkpoints)::

    patch_embed.{proj,norm}.*                        -> same name
    stages.{0,2,4,6}.blocks.{j}.spatial_mixing.partial_conv3.weight
                                                     -> same name
    stages.{0,2,4,6}.blocks.{j}.mlp.{0,1,3}.*        -> same name
    stages.{0,2,4,6}.blocks.{j}.layer_scale          -> ...layer_scale.weight
    stages.{1,3,5}.{reduction,norm}.*                -> same name
    norm{0,2,4,6}.*  (detection ``fork_feat`` only)  -> per-output norms
    avgpool_pre_head.1.weight, head.{weight,bias}    -> dropped (classifier)

timm layout (``timm.models.fasternet``, timm >= 1.0.16)::

    patch_embed.*                                    -> same name
    stages.{i}.blocks.{j}.*                          -> stages.{2i}.blocks.{j}.*
    stages.{i}.downsample.*        (i = 1, 2, 3)     -> stages.{2i-1}.*
    conv_head.weight, classifier.{weight,bias}       -> dropped (classifier)

The prefix in front of ``patch_embed.proj.weight`` (``''``, ``model.``,
``module.``, ``backbone.`` ...) is detected and stripped, keys outside it are
skipped, so an mmdet/mmyolo detector checkpoint works too.
"""
import re
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple

from torch import Tensor

# Keys of the ImageNet classifier head in either layout; never loaded.
CLASSIFIER_KEY = re.compile(r'^(avgpool_pre_head|head|conv_head|classifier)\.')
# timm nests the merge layer into the following stage.
TIMM_DOWNSAMPLE_KEY = re.compile(r'^stages\.(\d+)\.downsample\.(.*)$')
TIMM_BLOCKS_KEY = re.compile(r'^stages\.(\d+)\.blocks\.(.*)$')
OUT_NORM_KEY = re.compile(r'^norm\d+\.')
ANCHOR = 'patch_embed.proj.weight'


def _short(keys: List[str], n: int = 4) -> str:
    """At most ``n`` keys, for messages."""
    more = f', ... (+{len(keys) - n})' if len(keys) > n else ''
    return ', '.join(keys[:n]) + more


@dataclass
class ConversionReport:
    """What :func:`convert_fasternet_state_dict` did, for the one log line."""

    layout: str = 'official'
    prefix: str = ''
    skipped: Dict[str, List[str]] = field(default_factory=dict)
    renamed: int = 0
    loaded: int = 0
    total: int = 0
    fresh_norms: List[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True unless the entries were already this module's names."""
        return bool(self.layout != 'official' or self.prefix or self.skipped
                    or self.renamed or self.fresh_norms)

    def summary(self, source: str) -> str:
        msg = (f'FasterNet: loaded {self.loaded}/{self.total} tensors from '
               f'{source} ({self.layout} layout, prefix {self.prefix!r})')
        for reason, keys in self.skipped.items():
            msg += f'; skipped {len(keys)} keys ({reason}): {_short(keys)}'
        if self.fresh_norms:
            msg += (f'; per-output norms {", ".join(self.fresh_norms)} not in '
                    'the checkpoint, kept at init')
        return msg


def find_prefix(keys) -> Optional[str]:
    """Whatever precedes ``patch_embed.proj.weight``; None if no key has it.

    Raises:
        ValueError: more than one key ends in it (two backbones in a file).
    """
    found = sorted(k[:-len(ANCHOR)] for k in keys
                   if k == ANCHOR or k.endswith('.' + ANCHOR))
    if len(found) > 1:
        raise ValueError('Cannot tell the FasterNet weights apart: several keys end in '
                         f'{ANCHOR!r} ({found}); pass a checkpoint holding one backbone')
    return found[0] if found else None


def unwrap(ckpt: Mapping) -> Mapping:
    """The state dict inside a checkpoint (``state_dict`` or ``model``), or the dict itself."""
    for wrapper in ('state_dict', 'model'):
        if isinstance(ckpt.get(wrapper), Mapping):
            return ckpt[wrapper]
    return ckpt


def convert_fasternet_state_dict(
        ckpt: Mapping, prefix: Optional[str] = None
) -> Tuple[Dict[str, Tensor], ConversionReport]:
    """Turn a FasterNet state dict (any layout above) into this backbone's names.

    Args:
        ckpt (dict): a state dict, or a checkpoint holding one under
            ``state_dict``/``model``.
        prefix (str, optional): prefix of the backbone keys; None detects it
            from ``patch_embed.proj.weight``. With no such key the state dict
            is not FasterNet's and is returned as it is.

    Returns:
        (state dict in this module's names, :class:`ConversionReport`).
    """
    ckpt = unwrap(ckpt)
    report = ConversionReport()
    if prefix is None:
        prefix = find_prefix(ckpt)
        if prefix is None:
            return dict(ckpt), report
    report.prefix = prefix
    state = {}
    for key, value in ckpt.items():
        if not key.startswith(prefix):
            report.skipped.setdefault(f'outside prefix {prefix!r}', []).append(key)
        elif CLASSIFIER_KEY.match(key[len(prefix):]):
            report.skipped.setdefault('ImageNet classifier', []).append(key)
        else:
            state[key[len(prefix):]] = value
    if any(TIMM_DOWNSAMPLE_KEY.match(k) for k in state):
        report.layout = 'timm'
    out = {}
    for key, value in state.items():
        new = key
        if report.layout == 'timm':
            merge, blocks = TIMM_DOWNSAMPLE_KEY.match(key), TIMM_BLOCKS_KEY.match(key)
            if merge:
                new = f'stages.{2 * int(merge[1]) - 1}.{merge[2]}'
            elif blocks:
                new = f'stages.{2 * int(blocks[1])}.blocks.{blocks[2]}'
        if new.endswith('.layer_scale'):
            new += '.weight'  # a bare nn.Parameter there; here it is LayerScale.weight
        report.renamed += new != key
        out[new] = value
    return out, report


def check_fasternet_state_dict(state: Dict[str, Tensor], own: Mapping[str, Tensor],
                               report: ConversionReport, source: str) -> None:
    """Check a converted state dict against the model's, in place.

    Every backbone tensor of ``own`` (all but the per-output norms and
    ``num_batches_tracked``) must be in ``state`` with its shape. Per-output
    norms the model does not build are dropped from ``state`` (noted in the
    report), those it builds but ``state`` lacks keep their init.

    Raises:
        ValueError: a missing key, a backbone-like key the model lacks (arch
            mismatch) or a shape mismatch, naming the first ones.
    """
    def optional(key):
        return OUT_NORM_KEY.match(key) or key.endswith('num_batches_tracked')

    where = f'FasterNet checkpoint {source} ({report.layout} layout)'
    missing = [k for k in own if k not in state and not optional(k)]
    if missing:
        raise ValueError(f'{where} lacks {len(missing)} backbone keys: {_short(missing)}')
    unexpected = [k for k in state if k not in own]
    foreign_norms = [k for k in unexpected if OUT_NORM_KEY.match(k)]
    unexpected = [k for k in unexpected if k not in foreign_norms]
    if unexpected:
        raise ValueError(f'{where} has {len(unexpected)} backbone keys this model lacks '
                         f'(does the arch match?): {_short(unexpected)}')
    for key, value in state.items():
        if key in own and value.shape != own[key].shape:
            raise ValueError(
                f'{where}: shape mismatch for {key}: checkpoint {tuple(value.shape)} vs model '
                f'{tuple(own[key].shape)} (does the arch/widen_factor match?)')
    for key in foreign_norms:
        report.skipped.setdefault('per-output norm not built', []).append(key)
        del state[key]
    report.loaded, report.total = len(state), len(own)
    report.fresh_norms = sorted({k.split('.')[0] for k in own
                                 if OUT_NORM_KEY.match(k) and k not in state})
