"""The tools' flags and a checkpoint's own settings on a loaded config.

* :func:`apply_run_settings`: ``tools/train.py --data/--epochs/--img-size/--batch/--workers/
  --nbs/--patience/--amp``: each flag sets its primary and :func:`~.derivation.derive` recomputes
  every key that depends on it;
* :func:`apply_checkpoint_settings`: what the tools that run a trained model (test, demos,
  export, quantize) do before building it: the checkpoint's class names and image size;
* :func:`set_eval_dir`: ``tools/test.py --eval-dir``.
"""
from typing import Any, Dict, List

from .derivation import (
    KEEP,
    STRIDE,
    ConfigDerivationError,
    _kind,
    class_names_of,
    derive,
    metric_cfgs,
    use_pr_metric,
)


def _check_reads_yolo_data(cfg):
    datasets = [((cfg.get(k) or {}).get('dataset') or {}) for k in ('train_dataloader', 'test_dataloader')]
    for d in datasets:
        if d and _kind(d) != 'YOLOFormatDataset':
            raise ConfigDerivationError(
                f'--data needs a config that reads YOLO-format data (YOLOFormatDataset, e.g. '
                f'configs/yolo11n_fasternet_fire.py); this one reads {d.get("type")!r}')


def apply_run_settings(cfg, data_yaml=None, epochs=None, img_size=None, batch=None,
                       workers=None, nbs=KEEP, patience=None, amp=None,
                       class_names=None) -> Dict[str, Any]:
    """The tools' flags on a loaded Config, in place: every flag given (not None) sets its
    primary and everything derived from it; returns the changed top-level keys.

    ``img_size``: an int (square) or (width, height). ``workers``: train and val/test loaders.
    ``nbs``: an int, or None/0 for no accumulation; KEEP (default) keeps the config's.
    ``patience``: epochs without a better fitness before the run stops (0: never).
    ``amp``: mixed precision (True) or fp32 (False). ``class_names``: e.g. from a checkpoint;
    with ``data_yaml`` the yaml's names are used.
    """
    changes = {}
    if data_yaml is not None:
        _check_reads_yolo_data(cfg)
        changes['data_yaml'] = data_yaml
    if class_names is not None and data_yaml is None:
        changes['class_names'] = tuple(class_names)
    if epochs is not None:
        changes['max_epochs'] = epochs
    if img_size is not None:
        changes['img_scale'] = (img_size, img_size) if isinstance(img_size, int) \
            else tuple(img_size)
    if batch is not None:
        changes['train_batch_size_per_gpu'] = batch
    if workers is not None:
        changes['train_num_workers'] = changes['val_num_workers'] = workers
    if nbs is not KEEP:
        changes['nbs'] = nbs or None
    if patience is not None:
        changes['patience'] = patience
    if amp is not None:
        changes['amp'] = bool(amp)
    if not changes:
        return {}
    new = derive(cfg, **changes)
    for k, v in new.items():
        cfg[k] = v
    return new


def round_img_size(size: int) -> int:
    """Ultralytics' check_imgsz: a size that is not a multiple of the stride is rounded up."""
    return max(-(-int(size) // STRIDE) * STRIDE, STRIDE)


def describe_classes(names):
    return f'{len(names)} class{"es" if len(names) != 1 else ""} ({", ".join(names)})'


def class_mismatch(checkpoint, ckpt_names, source, names):
    """One line when a checkpoint's class count differs from ``names`` (of ``source``), else None."""
    if ckpt_names is None or names is None or len(ckpt_names) == len(names):
        return None
    return (f'checkpoint {checkpoint} was trained on {describe_classes(ckpt_names)}, '
            f'{source} has {len(names)} ({", ".join(names)})')


def apply_checkpoint_settings(cfg, checkpoint, data_yaml=None, img_size=None,
                              evaluates=False) -> List[str]:
    """What the tools that run a trained model (test, demo, export) do before building it, in
    place; returns notes (one line each) on what changed.

    * ``data_yaml`` (``tools/test.py --data``): the config reads that dataset; its class count
      must be the checkpoint's, else ConfigDerivationError names both;
    * without it, the class names come from the checkpoint's ``meta.dataset_meta`` (so a demo
      or an export needs no dataset); ``evaluates`` (test.py on the config's own data): a class
      count that differs from the config's is an error instead;
    * the image size: ``img_size``, else the one the checkpoint was trained at, else the config's.
    """
    from ..engine.checkpoint_meta import read_checkpoint_meta
    remote = not checkpoint or '://' in str(checkpoint)
    saved = None if remote else read_checkpoint_meta(checkpoint)
    ckpt_names = saved.class_names if saved else None
    changes, notes = {}, []
    if data_yaml is not None:
        _check_reads_yolo_data(cfg)
        names = class_names_of(data_yaml)
        message = class_mismatch(checkpoint, ckpt_names, data_yaml, names)
        if message:
            raise ConfigDerivationError(message)
        changes['data_yaml'] = data_yaml
    elif ckpt_names is not None:
        names = tuple(cfg['class_names']) if cfg.get('class_names') else None
        count = len(names) if names is not None else cfg.get('num_classes')
        if evaluates and count is not None and count != len(ckpt_names):
            raise ConfigDerivationError(
                class_mismatch(checkpoint, ckpt_names, 'the config',
                               names or [f'class_{i}' for i in range(count)])
                + '; pass --data with the yaml of its dataset')
        if not evaluates and (names != ckpt_names if names is not None
                              else count != len(ckpt_names)):
            changes['class_names'] = ckpt_names
            notes.append(f'class names from the checkpoint: {", ".join(ckpt_names)}')
    scale = None
    if img_size is not None:
        scale = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
    elif saved and saved.img_scale is not None and tuple(cfg.get('img_scale') or ()) != saved.img_scale:
        scale = saved.img_scale
        notes.append(f'image size from the checkpoint: {scale[0]}x{scale[1]}')
    if scale is not None:
        changes['img_scale'] = scale
    if changes:
        for k, v in derive(cfg, **changes).items():
            cfg[k] = v
    return notes


def set_eval_dir(evaluator_cfg, out_dir='auto') -> int:
    """``eval_dir=out_dir`` on the DetectionPRMetric(s) of ``evaluator_cfg`` (a bbox CocoMetric
    is turned into one first; ``'auto'``: the run's log directory). Returns how many were set
    (0: the config has no COCO bbox metric, so there is nothing to write)."""
    use_pr_metric(evaluator_cfg)
    n = 0
    for m in metric_cfgs(evaluator_cfg):
        if _kind(m) == 'DetectionPRMetric':
            m['eval_dir'] = out_dir
            n += 1
    return n
