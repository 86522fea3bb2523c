"""One frame in, detections out, the same for every runtime: what every demo runs.

:func:`load_frame_detector` gives a :class:`FrameDetector` for

* ``pytorch``: a config + checkpoint (:func:`init_model`; ``deploy=True`` for the deploy form);
* ``onnxruntime`` / ``openvino``: an exported ``.onnx`` (``export_onnx.py``; an INT8 file from
  ``quantize.py`` too, an OpenVINO IR ``.xml`` in OpenVINO), through
  :class:`~fasternet_yolo11.deploy.exported.ExportedDetector`.

``detector(frame)`` takes an (H, W, 3) uint8 BGR frame and returns the detections with score >=
``detector.score_thr``, as dicts ``label, class, score, bbox`` (x1, y1, x2, y2 in the frame's
pixels), best first. The preprocessing is the config's test pipeline in every runtime (an
exported file stores it in its metadata).

The threshold: ``score_thr`` when given (``--score-thr``), else the best-F1 threshold of the
last validation stored with the weights (checkpoint meta; ONNX metadata ``best_f1_threshold``),
else :data:`DEFAULT_SCORE_THR`. ``detector.score_thr_source`` says which.
"""
import os
from typing import Dict, List, Optional

import numpy as np

from ..errors import CheckpointError
from .preprocess import build_preprocess, unletterbox
from .runtimes import RUNTIMES

DEFAULT_SCORE_THR = 0.3  # weights with no stored best-F1 threshold


def init_model(config, checkpoint: Optional[str] = None, device: str = 'cpu', deploy: bool = False):
    """The detector of ``config`` (a loaded Config, or a config file) in eval mode on
    ``device``, with the weights of ``checkpoint`` (None: random weights), through
    ``mmdet.apis.init_detector``. ``deploy``: in its deploy form
    (:func:`~fasternet_yolo11.models.deploy_form.switch_to_deploy`; the same detections)."""
    from mmdet.apis import init_detector

    from ..config.loading import load_config
    from ..models.deploy_form import switch_to_deploy
    if isinstance(config, (str, os.PathLike)):
        config = load_config(config)
    model = init_detector(config, checkpoint, device=device).eval()
    if deploy:
        switch_to_deploy(model)
    return model


def to_dets(boxes, scores, labels, classes, score_thr) -> List[Dict]:
    """Detections as dicts (``label, class, score, bbox``) with score >= ``score_thr``, best first."""
    dets = []
    for box, score, label in zip(boxes, scores, labels):
        if score < score_thr or label < 0:
            continue
        dets.append(dict(label=int(label), score=round(float(score), 5),
                         bbox=[round(float(v), 2) for v in box],
                         **{'class': classes[int(label)] if int(label) < len(classes)
                            else str(int(label))}))
    return sorted(dets, key=lambda d: -d['score'])


def _pick_threshold(score_thr, stored):
    if score_thr is not None:
        return float(score_thr), '--score-thr'
    if stored is not None:
        return float(stored), 'best-F1 threshold of the weights'
    return DEFAULT_SCORE_THR, 'default (the weights store no best-F1 threshold)'


class FrameDetector:
    """Attributes: ``backend``, ``classes``, ``score_thr``, ``score_thr_source``."""

    backend = None
    classes: List[str] = []
    score_thr = DEFAULT_SCORE_THR
    score_thr_source = ''

    def __call__(self, frame: np.ndarray, name: str = '') -> List[Dict]:
        raise NotImplementedError


class PyTorchFrameDetector(FrameDetector):
    """A config + checkpoint in PyTorch (``deploy``: the deploy form)."""

    backend = 'pytorch'

    def __init__(self, cfg, checkpoint: str, device: str = 'cpu', deploy: bool = False,
                 score_thr: Optional[float] = None):
        from ..engine.checkpoint_meta import best_threshold_from_checkpoint
        self.model = init_model(cfg, checkpoint, device=device, deploy=deploy)
        self.classes = list(self.model.dataset_meta.get('classes', ()))
        self.preprocess = build_preprocess(self.model.cfg.test_dataloader.dataset.pipeline)
        self.score_thr, self.score_thr_source = _pick_threshold(
            score_thr, best_threshold_from_checkpoint(checkpoint))

    def __call__(self, frame, name=''):
        import torch
        data = self.preprocess(frame, name)
        with torch.no_grad():
            batch = self.model.data_preprocessor(
                dict(inputs=[data['inputs']], data_samples=[data['data_samples']]), False)
            inst = self.model.predict(batch['inputs'], batch['data_samples'], rescale=True)[0].pred_instances
        return to_dets(inst.bboxes.cpu().numpy(), inst.scores.cpu().numpy(), inst.labels.cpu().numpy(),
                       self.classes, self.score_thr)


class ExportedFrameDetector(FrameDetector):
    """An exported model in ONNX Runtime or OpenVINO (``iou_thr`` applies to ``raw`` models)."""

    def __init__(self, path: str, backend: str = 'onnxruntime', device: str = 'cpu', threads: int = 0,
                 score_thr: Optional[float] = None, iou_thr: float = 0.7):
        from .exported import load_exported
        self.exported = load_exported(path, backend, device, threads)
        self.backend = backend
        self.classes = list(self.exported.classes)
        self.iou_thr = iou_thr
        self.preprocess = build_preprocess(self.exported.pipeline)
        self.score_thr, self.score_thr_source = _pick_threshold(score_thr, self.exported.best_f1_threshold)

    def __call__(self, frame, name=''):
        data = self.preprocess(frame, name)
        boxes, scores, labels = self.exported(self.exported.normalise(data['inputs']), self.iou_thr)[0]
        return to_dets(unletterbox(boxes, data['data_samples'].metainfo), scores, labels, self.classes,
                       self.score_thr)


def load_frame_detector(backend: str, model: str, config=None, device: str = 'cpu', deploy: bool = False,
                        score_thr: Optional[float] = None, threads: int = 0, iou_thr: float = 0.7,
                        cfg_options: Optional[dict] = None, notes: Optional[List[str]] = None) -> FrameDetector:
    """``backend`` ``pytorch``: ``model`` is a checkpoint and ``config`` its config (a path, or a
    loaded Config; the checkpoint's class names and image size are applied to it, then
    ``cfg_options``, so no dataset is needed); otherwise ``model`` is an exported ``.onnx`` (or,
    for ``openvino``, an IR ``.xml``). What the checkpoint changed is appended to ``notes``."""
    if backend not in RUNTIMES:
        raise ValueError(f'unknown backend {backend!r}; one of {", ".join(RUNTIMES)}')
    if backend == 'pytorch':
        from ..config.loading import load_config
        from ..config.run_settings import apply_checkpoint_settings
        if config is None:
            raise CheckpointError('the pytorch backend needs a config and a checkpoint')
        cfg = load_config(config) if isinstance(config, (str, os.PathLike)) else config
        changed = apply_checkpoint_settings(cfg, model)
        if notes is not None:
            notes.extend(changed)
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        return PyTorchFrameDetector(cfg, model, device=device, deploy=deploy, score_thr=score_thr)
    if not str(model).lower().endswith(('.onnx', '.xml')):
        raise CheckpointError(f'the {backend} backend runs an exported model (.onnx from '
                              f'tools/deployment/export_onnx.py, or an OpenVINO .xml), got {model!r}')
    return ExportedFrameDetector(model, backend, device=device, threads=threads, score_thr=score_thr,
                                 iou_thr=iou_thr)
