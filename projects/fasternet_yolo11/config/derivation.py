"""Every config key that depends on the run's data, image size, schedule and batch, derived in
one place, for the configs and for the tools' ``--data/--epochs/--img-size/--batch/--workers/--nbs/
--patience/--amp``.

A config states a few *primaries* as top-level variables; everything that depends on them is
derived here (:func:`derive`):

====================================  ==========================================================
primary (top-level)                   derived keys
====================================  ==========================================================
``data_yaml``                         ``data_yaml`` of every ``YOLOFormatDataset`` (train/val/test)
``class_names`` (``--data``: the      ``metainfo`` (classes and a palette of the right length),
yaml's ``names``, list or dict, or    top-level and in every ``YOLOFormatDataset``;
``nc`` + ``classes.txt``)             ``num_classes``
``num_classes``                       every ``num_classes`` under ``model`` (head, assigner)
``img_scale`` (width, height)         Mosaic ``img_scale``, YOLOv5RandomAffine ``border``,
                                      YOLOv5KeepRatioResize/LetterResize ``scale``, in every
                                      pipeline: train, the PipelineSwitchHook's stage 2, test, and
                                      the top-level pipeline variables
``max_epochs``,                       PipelineSwitchHook ``switch_epoch`` (= max_epochs -
``close_mosaic_epochs``               close_mosaic_epochs, at least 0), ``train_cfg.max_epochs``
                                      and ``dynamic_intervals``, YOLOv5ParamSchedulerHook
                                      ``max_epochs``
``val_interval``,                     ``train_cfg.val_interval``, the stage-2 interval of
``val_interval_stage2``,              ``dynamic_intervals``, ``default_hooks.checkpoint.interval``
``save_epoch_intervals``              (each at most max_epochs)
``train_batch_size_per_gpu``,         the dataloaders' ``batch_size``/``num_workers``/
``train_num_workers``,                ``persistent_workers`` (off with 0 workers),
``val_num_workers``,                  ``optim_wrapper.optimizer.batch_size_per_gpu`` (mmyolo's
``persistent_workers``                weight-decay rule)
``nbs`` (None: off)                   ``optim_wrapper.accumulative_counts``, its warm-up ramp and
                                      ``paramwise_cfg.base_total_batch_size``; the EMA hook's
                                      ``interval`` and ``gamma`` (see below)
``patience`` (0: off)                 ``patience`` of the ``FitnessEarlyStoppingHook`` (epochs
                                      without a better fitness before the run stops; the hook
                                      is added when missing, and then the val evaluator gives
                                      the fitness it monitors: bbox CocoMetric ->
                                      DetectionPRMetric)
``amp`` (False: fp32)                 ``optim_wrapper.type``: the recipe's
                                      ``NominalBatchOptimWrapper``, or with amp
                                      ``AmpOptimWrapper`` / ``NominalBatchAmpOptimWrapper`` when
                                      it accumulates (:func:`optim_wrapper_type`, the one rule)
====================================  ==========================================================

Derived keys are always overwritten: to change one, change its primary. The result is an
ordinary mmengine config whose top-level primaries say what ran (the work dir's dumped config).

Three entry points share :func:`derive`:

* configs: after their ``_base_`` line, a config sets the primaries it changes and ends with
  ``globals().update(derived_keys(_base_, globals()))`` (the import must come *after* the
  ``_base_`` assignment, or mmengine reads the file as a lazy-import config);
* tools: :func:`~fasternet_yolo11.config.run_settings.apply_run_settings` on a loaded Config
  (``tools/train.py --data ... --epochs``);
* inference tools: :func:`~fasternet_yolo11.config.run_settings.apply_checkpoint_settings`
  takes the class names and the image size a checkpoint was trained with, so a demo needs no
  dataset.

**Nominal batch** (``nbs``, Ultralytics' ``nbs=64``): with a total batch B = batch x world size
smaller than nbs, gradients of ``accumulate = max(round(nbs / B), 1)`` batches are summed before
one optimizer step, as Ultralytics does (``engine/optim_wrappers.py``: the loss of each batch is
back-propagated unscaled, so a step sees the gradient of about nbs images, not mmengine's mean
over the window; during warm-up accumulate ramps from 1 as Ultralytics' does). Weight decay is
``weight_decay * B * accumulate / nbs``: mmyolo's ``YOLOv5OptimizerConstructor`` applies exactly
this rule from ``batch_size_per_gpu`` and ``paramwise_cfg.base_total_batch_size``, set to nbs
here. Ultralytics updates its EMA once per step: the ExpMomentumEMA averages every
``accumulate`` iterations, with its warm-up constant ``gamma`` (tau 2000 steps) counted in
iterations. The world size is read from ``WORLD_SIZE`` (set by torchrun) when the keys are derived.
"""
import colorsys
import copy
import os
import types
from typing import Any, Dict, Mapping

from ..errors import ConfigError

KEEP = object()  # "flag not given": keep the config's value

# The top-level variables derive() reads, in the order they are written back.
PRIMARIES = ('data_yaml', 'class_names', 'num_classes', 'img_scale', 'max_epochs',
             'close_mosaic_epochs', 'val_interval', 'val_interval_stage2', 'save_epoch_intervals',
             'train_batch_size_per_gpu', 'train_num_workers', 'val_num_workers',
             'persistent_workers', 'nbs', 'patience', 'amp')
STRIDE = 32  # the largest feature stride: every image side must be a multiple of it
# optim wrappers that implement Ultralytics' accumulation (sum, warm-up ramp); FiniteOptimWrapper
# is the registry's other name of NominalBatchOptimWrapper
NOMINAL_BATCH_WRAPPERS = ('NominalBatchOptimWrapper', 'FiniteOptimWrapper', 'NominalBatchAmpOptimWrapper')
# the optim wrappers amp can replace: mmengine's plain one and the fp32 ones above
FP32_WRAPPERS = ('OptimWrapper', 'NominalBatchOptimWrapper', 'FiniteOptimWrapper')
AMP_WRAPPERS = ('AmpOptimWrapper', 'NominalBatchAmpOptimWrapper')
EARLY_STOP = 'FitnessEarlyStoppingHook'
PR_METRIC = 'DetectionPRMetric'


class ConfigDerivationError(ConfigError):
    """A primary has an unusable value (the message names it)."""


def _kind(d):
    return str(d.get('type', '')).split('.')[-1] if isinstance(d.get('type'), str) else ''


def _plain(value):
    """ConfigDicts (and any mapping) to plain dicts, recursively; a deep copy."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return copy.deepcopy(value)


def _walk(value, fn):
    """Apply ``fn`` to every dict inside ``value`` (children first); returns the new value."""
    if isinstance(value, dict):
        return fn({k: _walk(v, fn) for k, v in value.items()})
    if isinstance(value, list):
        return [_walk(v, fn) for v in value]
    if isinstance(value, tuple):
        return tuple(_walk(v, fn) for v in value)
    return value


def palette_for(num_classes, palette=None):
    """``palette`` if it has one colour per class, else ``num_classes`` distinct RGB colours."""
    if palette is not None and len(palette) == num_classes:
        return [tuple(c) for c in palette]
    colours = []
    for i in range(num_classes):
        r, g, b = colorsys.hsv_to_rgb((i * 0.618033988749895) % 1.0, 0.85, 0.95)
        colours.append((int(r * 255), int(g * 255), int(b * 255)))
    return colours


def accumulate_for(nbs, batch_size_per_gpu, world_size=None):
    """Ultralytics' ``accumulate = max(round(nbs / total_batch), 1)``; 1 when nbs is None."""
    if not nbs:
        return 1
    if world_size is None:
        world_size = int(os.environ.get('WORLD_SIZE', '1') or 1)
    return max(round(nbs / (batch_size_per_gpu * world_size)), 1)


def class_names_of(data_yaml):
    """The class names of a data yaml (``names`` list/dict, or ``nc`` + ``classes.txt``), read
    and checked by the dataset's own reader; raises DataConfigError with one line."""
    from ..datasets.yolo_dataset import load_data_config
    return tuple(load_data_config(data_yaml)['names'])


def _first(cfg, kind, section=None):
    """The first dict of type ``kind`` in ``cfg`` (or in ``cfg[section]``)."""
    found = []

    def look(d):
        if _kind(d) == kind and not found:
            found.append(d)
        return d
    _walk(cfg.get(section) if section else cfg, look)
    return found[0] if found else None


def read_primaries(cfg) -> Dict[str, Any]:
    """The primaries of a config: its top-level variables, or where one is missing the derived
    key it would set (so a config that predates a primary still derives consistently)."""
    cfg = _plain(cfg)
    train_cfg = cfg.get('train_cfg') or {}
    loader = cfg.get('train_dataloader') or {}
    val_loader = cfg.get('val_dataloader') or {}
    switch = _first(cfg, 'PipelineSwitchHook', 'custom_hooks')
    checkpoint = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    early_stop = _first(cfg, EARLY_STOP, 'custom_hooks') or {}
    p = {k: cfg.get(k) for k in PRIMARIES}
    fallbacks = dict(
        max_epochs=train_cfg.get('max_epochs'),
        val_interval=train_cfg.get('val_interval'),
        save_epoch_intervals=checkpoint.get('interval'),
        train_batch_size_per_gpu=loader.get('batch_size'),
        train_num_workers=loader.get('num_workers'),
        val_num_workers=val_loader.get('num_workers'),
        patience=early_stop.get('patience'),
        amp=_kind(cfg.get('optim_wrapper') or {}) in AMP_WRAPPERS if cfg.get('optim_wrapper') else None)
    for k, v in fallbacks.items():
        if p[k] is None:
            p[k] = v
    if p['close_mosaic_epochs'] is None and switch and p['max_epochs'] is not None:
        p['close_mosaic_epochs'] = p['max_epochs'] - switch['switch_epoch']
    if p['val_interval_stage2'] is None and train_cfg.get('dynamic_intervals'):
        p['val_interval_stage2'] = train_cfg['dynamic_intervals'][-1][1]
    if p['class_names'] is not None:
        p['class_names'] = tuple(p['class_names'])
    if p['img_scale'] is not None:
        p['img_scale'] = tuple(p['img_scale'])
    return p


def _check(p):
    def positive_int(name, minimum=1):
        v = p.get(name)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < minimum):
            raise ConfigDerivationError(f'{name} must be an integer >= {minimum}, got {v!r}')
    for name in ('max_epochs', 'val_interval', 'val_interval_stage2', 'save_epoch_intervals',
                 'train_batch_size_per_gpu', 'num_classes'):
        positive_int(name)
    for name in ('close_mosaic_epochs', 'train_num_workers', 'val_num_workers', 'patience'):
        positive_int(name, 0)
    if p.get('nbs') is not None:
        positive_int('nbs')
    if p.get('amp') is not None and not isinstance(p['amp'], bool):
        raise ConfigDerivationError(f'amp must be True or False, got {p["amp"]!r}')
    scale = p.get('img_scale')
    if scale is not None:
        if len(scale) != 2 or any(not isinstance(s, int) or s <= 0 or s % STRIDE for s in scale):
            raise ConfigDerivationError(f'img_scale must be (width, height), positive multiples of '
                                        f'{STRIDE}, got {scale!r}')
    names = p.get('class_names')
    if names is not None:
        if not names or any(not isinstance(n, str) or not n for n in names):
            raise ConfigDerivationError(f'class_names must be non-empty strings, got {names!r}')
        if p.get('num_classes') is not None and p['num_classes'] != len(names):
            raise ConfigDerivationError(f'num_classes={p["num_classes"]} but {len(names)} '
                                        f'class_names are given: {names}')


def derive(cfg, **changes) -> Dict[str, Any]:
    """Every top-level key of ``cfg`` that depends on the primaries, recomputed.

    Args:
        cfg: a config (mmengine Config/ConfigDict or dict), read, not changed.
        **changes: new primary values (names from :data:`PRIMARIES`); the others keep the
            config's. A new ``data_yaml`` without ``class_names`` takes the yaml's names.

    Returns:
        dict: top-level key -> full new value, for every primary (written back) and every key
        whose value changed.
    """
    unknown = set(changes) - set(PRIMARIES)
    if unknown:
        raise TypeError(f'derive() got unknown primaries {sorted(unknown)}')
    cfg = _plain(cfg.to_dict() if hasattr(cfg, 'to_dict') else cfg)
    p = read_primaries(cfg)
    p.update({k: v for k, v in changes.items() if v is not KEEP})
    if 'data_yaml' in changes and changes['data_yaml'] not in (None, KEEP) \
            and 'class_names' not in changes:
        p['class_names'] = class_names_of(p['data_yaml'])
    if p['class_names'] is not None:
        p['class_names'] = tuple(p['class_names'])
        p['num_classes'] = len(p['class_names'])
    if p['img_scale'] is not None:
        p['img_scale'] = tuple(p['img_scale'])
    _check(p)

    metainfo = None
    if p['class_names'] is not None:
        old = cfg.get('metainfo') or {}
        metainfo = dict(old, classes=p['class_names'],
                        palette=palette_for(len(p['class_names']), old.get('palette')))
    switch_epoch = None
    if p['max_epochs'] is not None and p['close_mosaic_epochs'] is not None:
        switch_epoch = max(p['max_epochs'] - p['close_mosaic_epochs'], 0)

    def at_most_epochs(v):
        return v if v is None or p['max_epochs'] is None else min(v, p['max_epochs'])

    def rule(d):
        kind = _kind(d)
        scale = p['img_scale']
        if scale is not None:
            if kind == 'Mosaic':
                d['img_scale'] = scale
            elif kind in ('YOLOv5KeepRatioResize', 'LetterResize'):
                d['scale'] = scale
            elif kind == 'YOLOv5RandomAffine' and 'border' in d:
                d['border'] = (-scale[0] // 2, -scale[1] // 2)
        if kind == 'YOLOFormatDataset':
            if p['data_yaml'] is not None:
                d['data_yaml'] = p['data_yaml']
            if metainfo is not None:
                d['metainfo'] = dict(d.get('metainfo') or {}, **copy.deepcopy(metainfo))
        elif kind == 'PipelineSwitchHook' and switch_epoch is not None:
            d['switch_epoch'] = switch_epoch
        elif kind == 'YOLOv5ParamSchedulerHook' and p['max_epochs'] is not None:
            d['max_epochs'] = p['max_epochs']
        elif kind == EARLY_STOP and p['patience'] is not None:
            d['patience'] = p['patience']
        return d

    new = {k: _walk(v, rule) for k, v in cfg.items()}
    for k in PRIMARIES:
        if p[k] is not None or k in cfg:
            new[k] = p[k]
    if metainfo is not None:
        new['metainfo'] = metainfo

    if p['num_classes'] is not None and isinstance(new.get('model'), dict):
        def classes_rule(d):
            if 'num_classes' in d:
                d['num_classes'] = p['num_classes']
            return d
        new['model'] = _walk(new['model'], classes_rule)

    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = new.get(name)
        if not isinstance(loader, dict):
            continue
        workers = p['train_num_workers'] if name == 'train_dataloader' else p['val_num_workers']
        if name == 'train_dataloader' and p['train_batch_size_per_gpu'] is not None:
            loader['batch_size'] = p['train_batch_size_per_gpu']
        if workers is not None:
            loader['num_workers'] = workers
            persistent = p['persistent_workers']
            if persistent is None:
                persistent = loader.get('persistent_workers', False)
            loader['persistent_workers'] = bool(persistent) and workers > 0

    train_cfg = new.get('train_cfg')
    if isinstance(train_cfg, dict) and train_cfg.get('type', 'EpochBasedTrainLoop') \
            .split('.')[-1] == 'EpochBasedTrainLoop' and p['max_epochs'] is not None:
        train_cfg['max_epochs'] = p['max_epochs']
        if p['val_interval'] is not None:
            train_cfg['val_interval'] = at_most_epochs(p['val_interval'])
        if switch_epoch is not None and p['val_interval_stage2'] is not None:
            train_cfg['dynamic_intervals'] = [(switch_epoch,
                                               at_most_epochs(p['val_interval_stage2']))]
    checkpoint = (new.get('default_hooks') or {}).get('checkpoint')
    if isinstance(checkpoint, dict) and p['save_epoch_intervals'] is not None:
        checkpoint['interval'] = at_most_epochs(p['save_epoch_intervals'])

    if p['patience'] is not None and _first(new, EARLY_STOP, 'custom_hooks') is None:
        _add_early_stopping(new, p['patience'])

    optim_wrapper = new.get('optim_wrapper')
    if isinstance(optim_wrapper, dict):
        _derive_optim_wrapper(optim_wrapper, p, new)

    return {k: v for k, v in new.items() if k in PRIMARIES or v != cfg.get(k, KEEP)}


def metric_cfgs(evaluator_cfg) -> list:
    """The metric configs of an evaluator config: one metric, a list of them, or an ``Evaluator``
    config's ``metrics``."""
    if isinstance(evaluator_cfg, dict) and 'metrics' in evaluator_cfg:
        evaluator_cfg = evaluator_cfg['metrics']
    if evaluator_cfg is None:
        return []
    return list(evaluator_cfg) if isinstance(evaluator_cfg, (list, tuple)) else [evaluator_cfg]


def use_pr_metric(evaluator_cfg) -> int:
    """Turn the bbox CocoMetric(s) of ``evaluator_cfg`` into ``DetectionPRMetric`` with the same
    arguments (its mAP keys are CocoMetric's own), in place. Returns how many DetectionPRMetric
    configs there are after."""
    found = 0
    for m in metric_cfgs(evaluator_cfg):
        kind = _kind(m)
        metric = m.get('metric', 'bbox')
        if kind == 'CocoMetric' and 'bbox' in ([metric] if isinstance(metric, str) else list(metric)):
            m['type'] = PR_METRIC
            kind = PR_METRIC
        found += kind == PR_METRIC
    return found


def _add_early_stopping(cfg, patience):
    """Early stopping for a config that has no ``FitnessEarlyStoppingHook``: the hook on the
    fitness (0.1 mAP50 + 0.9 mAP50-95), which the val evaluator then has to give."""
    cfg['custom_hooks'] = list(cfg.get('custom_hooks') or []) + [
        dict(type=EARLY_STOP, monitor='coco/fitness', rule='greater', patience=patience)]
    if cfg.get('val_evaluator') is not None:
        use_pr_metric(cfg['val_evaluator'])


def optim_wrapper_type(current: str, amp: bool, accumulate: int) -> str:
    """The optim wrapper a run needs, the one rule: with ``amp`` mmengine's
    ``AmpOptimWrapper``, or ``NominalBatchAmpOptimWrapper`` when it accumulates; without, a
    wrapper that accumulates as Ultralytics (``NominalBatchOptimWrapper``) when ``accumulate >
    1``, else the config's own (an AMP one becomes ``NominalBatchOptimWrapper``)."""
    kind = current.split('.')[-1]
    if amp:
        if kind not in FP32_WRAPPERS + AMP_WRAPPERS:
            raise ConfigDerivationError(f'amp needs optim_wrapper.type OptimWrapper or NominalBatchOptimWrapper, '
                                        f'the config has {current!r}')
        return 'NominalBatchAmpOptimWrapper' if accumulate > 1 else 'AmpOptimWrapper'
    if kind in AMP_WRAPPERS:
        return 'NominalBatchOptimWrapper'
    if accumulate > 1 and kind not in NOMINAL_BATCH_WRAPPERS:
        raise ConfigDerivationError(
            f'nbs accumulates {accumulate} batches, which needs optim_wrapper.type='
            f"'NominalBatchOptimWrapper' (the config has {current!r}); or set nbs=None")
    return current


def _derive_optim_wrapper(ow, p, cfg):
    batch = p['train_batch_size_per_gpu']
    optimizer = ow.get('optimizer')
    if batch is not None and isinstance(optimizer, dict) and 'batch_size_per_gpu' in optimizer:
        optimizer['batch_size_per_gpu'] = batch
    accumulate = accumulate_for(p['nbs'], batch) if batch is not None else 1
    ow['accumulative_counts'] = accumulate
    paramwise = dict(ow.get('paramwise_cfg') or {})
    if p['nbs']:
        paramwise['base_total_batch_size'] = p['nbs']
    else:
        paramwise.pop('base_total_batch_size', None)  # mmyolo's default, 64
    if paramwise:
        ow['paramwise_cfg'] = paramwise
    else:
        ow.pop('paramwise_cfg', None)
    scheduler = (cfg.get('default_hooks') or {}).get('param_scheduler') or {}
    ow['type'] = optim_wrapper_type(ow.get('type', 'OptimWrapper'), bool(p['amp']), accumulate)
    if p['amp']:
        ow.setdefault('loss_scale', 'dynamic')
    else:
        ow.pop('loss_scale', None)
    if accumulate > 1:
        if _kind(scheduler) == 'YOLOv5ParamSchedulerHook':
            ow['accumulate_warmup'] = dict(epochs=scheduler.get('warmup_epochs', 3),
                                           min_iters=scheduler.get('warmup_mim_iter', 1000))
        else:
            ow['accumulate_warmup'] = None
    else:
        ow.pop('accumulate_warmup', None)
    _derive_ema(cfg, accumulate)


def _derive_ema(cfg, accumulate):
    """Ultralytics updates its EMA once per optimizer step (``updates`` counts steps, tau 2000);
    mmengine's EMAHook updates every iteration. With accumulation the ExpMomentumEMA averages
    every ``accumulate`` iterations (``interval``) and its ramp ``gamma`` is counted in
    iterations (tau * accumulate), so the EMA follows the steps as Ultralytics' does."""
    for hook in cfg.get('custom_hooks') or []:
        if not (isinstance(hook, dict) and _kind(hook) == 'EMAHook'
                and str(hook.get('ema_type', '')).split('.')[-1] == 'ExpMomentumEMA'):
            continue
        tau = hook.get('gamma', 2000) / hook.get('interval', 1)
        if accumulate > 1:
            hook['interval'] = accumulate
            hook['gamma'] = int(round(tau * accumulate))
        else:
            hook.pop('interval', None)
            if 'gamma' in hook:
                hook['gamma'] = int(round(tau))


def _merge(own, base):
    from mmengine.config import Config
    return Config._merge_a_into_b(own, base)


def derived_keys(base, own) -> Dict[str, Any]:
    """What a config's ``globals().update(derived_keys(_base_, globals()))`` sets: the file's
    own variables merged over its base as mmengine would merge them, then every key that
    depends on the primaries recomputed (:func:`derive`). Each returned dict that replaces a
    base key carries ``_delete_=True``, so mmengine's merge afterwards keeps it as it is."""
    own = {k: v for k, v in own.items()
           if k != '_base_' and not k.startswith('__')
           and not isinstance(v, (types.FunctionType, types.ModuleType, type))}
    base = _plain(base)
    merged = _merge(_plain(own), copy.deepcopy(base))
    merged = _plain(merged)
    new = derive(merged)
    out = {k: merged[k] for k in own}
    out.update(new)
    for k, v in out.items():
        if isinstance(v, dict) and k in base:
            out[k] = dict(v, _delete_=True)
    return out
