"""Config edits the tools make for ``--eval-dir`` and ``--patience`` (on loaded mmengine Configs).

* :func:`use_pr_metric`: an evaluator config of ``mmdet.CocoMetric`` (bbox) becomes
  ``DetectionPRMetric`` with the same arguments (its mAP keys are CocoMetric's own);
* :func:`set_eval_dir`: ``eval_dir`` on the evaluator's DetectionPRMetric(s) (``'auto'``: the
  run's log directory);
* :func:`set_patience`: the ``FitnessEarlyStoppingHook`` in ``custom_hooks`` gets ``patience``
  (added when absent), and the val evaluator gives the fitness it monitors.
"""
PR_METRIC = 'DetectionPRMetric'
_COCO = ('CocoMetric', 'mmdet.CocoMetric')
_PR = (PR_METRIC, f'mmyolo.{PR_METRIC}')
EARLY_STOP = 'FitnessEarlyStoppingHook'


def _metric_cfgs(evaluator_cfg):
    if evaluator_cfg is None:
        return []
    if isinstance(evaluator_cfg, dict) and 'metrics' in evaluator_cfg:  # dict(type='Evaluator', metrics=...)
        evaluator_cfg = evaluator_cfg['metrics']
    return list(evaluator_cfg) if isinstance(evaluator_cfg, (list, tuple)) else [evaluator_cfg]


def _is_bbox(m):
    metric = m.get('metric', 'bbox')
    return 'bbox' in ([metric] if isinstance(metric, str) else list(metric))


def use_pr_metric(evaluator_cfg):
    """Turn the bbox CocoMetric(s) of ``evaluator_cfg`` into DetectionPRMetric in place.
    Returns how many DetectionPRMetric configs there are afterwards."""
    found = 0
    for m in _metric_cfgs(evaluator_cfg):
        if m.get('type') in _COCO and _is_bbox(m):
            m['type'] = PR_METRIC
        found += m.get('type') in _PR
    return found


def set_eval_dir(evaluator_cfg, out_dir='auto'):
    """``eval_dir=out_dir`` on the DetectionPRMetric(s) of ``evaluator_cfg`` (a bbox CocoMetric
    is turned into one first). Returns how many were set (0: the config has no COCO bbox
    metric, so there is nothing to write)."""
    use_pr_metric(evaluator_cfg)
    n = 0
    for m in _metric_cfgs(evaluator_cfg):
        if m.get('type') in _PR:
            m['eval_dir'] = out_dir
            n += 1
    return n


def set_patience(cfg, patience, monitor=None):
    """Early stopping after ``patience`` epochs without improvement (0 disables it). Edits
    ``cfg.custom_hooks`` (the FitnessEarlyStoppingHook entry, added when absent; ``monitor``
    replaces its monitored key when given) and makes ``cfg.val_evaluator`` give
    ``coco/fitness`` (bbox CocoMetric -> DetectionPRMetric); the top-level ``patience`` primary
    (``utils/config_utils.py``) says the same number. Returns the hook's config."""
    hooks = list(cfg.get('custom_hooks') or [])
    entry = next((h for h in hooks if h.get('type') in (EARLY_STOP, f'mmyolo.{EARLY_STOP}')), None)
    if entry is None:
        entry = dict(type=EARLY_STOP, monitor='coco/fitness', rule='greater')
        hooks.append(entry)
    entry['patience'] = int(patience)
    if monitor:
        entry['monitor'] = monitor
    cfg.custom_hooks = hooks
    cfg['patience'] = int(patience)
    if cfg.get('val_evaluator') is not None:
        use_pr_metric(cfg.val_evaluator)
    return entry
