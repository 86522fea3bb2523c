"""One frame in, detections out, the same for every backend: what every demo runs.

:func:`load_frame_detector` gives a :class:`FrameDetector` for

* ``pytorch``: a config + checkpoint (``init_model``; ``deploy=True`` for the fused form);
* ``onnxruntime`` / ``openvino``: an exported ``.onnx`` (``export_onnx.py``; an INT8 file from
  ``quantize.py`` too), through :class:`~fasternet_yolo11.deploy.inference.OnnxDetector` /
  :class:`~fasternet_yolo11.deploy.inference.OpenVinoDetector`.

``detector(frame)`` takes an (H, W, 3) uint8 BGR frame and returns the detections with score >=
``detector.score_thr``, as dicts ``label, class, score, bbox`` (x1, y1, x2, y2 in the frame's
pixels), best first. The preprocessing is the config's test pipeline in every backend (an
exported file stores it in its metadata).

The threshold: ``score_thr`` when given (``--score-thr``), else the best-F1 threshold of the
last validation stored with the weights (checkpoint meta, by ``BestThresholdHook``; ONNX
metadata ``best_f1_threshold``, by ``export_onnx.py``), else :data:`DEFAULT_SCORE_THR`.
``detector.score_thr_source`` says which.
"""
import json
from typing import Dict, List, Optional

import numpy as np

from .inference import build_preprocess, init_model, load_exported, to_dets, unletterbox

DEFAULT_SCORE_THR = 0.3  # weights with no stored best-F1 threshold
BACKENDS = ('pytorch', 'onnxruntime', 'openvino')


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
    """A config + checkpoint in PyTorch (``deploy``: Conv+BN fused, PConv slicing)."""

    backend = 'pytorch'

    def __init__(self, cfg, checkpoint: str, device: str = 'cpu', deploy: bool = False,
                 score_thr: Optional[float] = None):
        from ..engine.hooks.best_threshold_hook import best_threshold_from_checkpoint
        self.model = init_model(cfg, checkpoint, device=device, deploy=deploy)
        self.classes = list(self.model.dataset_meta.get('classes', ()))
        self.preprocess = build_preprocess(cfg.test_dataloader.dataset.pipeline)
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
    """An exported ``.onnx`` in ONNX Runtime or OpenVINO (``iou_thr`` applies to ``raw`` models)."""

    def __init__(self, path: str, backend: str = 'onnxruntime', device: str = 'cpu', threads: int = 0,
                 score_thr: Optional[float] = None, iou_thr: float = 0.7):
        self.exported = load_exported(path, backend, device, threads)
        self.backend = backend
        self.classes = list(self.exported.classes)
        self.iou_thr = iou_thr
        self.preprocess = build_preprocess(self.exported.pipeline)
        stored = self.exported.meta.get('best_f1_threshold')
        self.score_thr, self.score_thr_source = _pick_threshold(
            score_thr, json.loads(stored) if stored else None)

    def __call__(self, frame, name=''):
        data = self.preprocess(frame, name)
        boxes, scores, labels = self.exported(self.exported.normalise(data['inputs']), self.iou_thr)[0]
        return to_dets(unletterbox(boxes, data['data_samples'].metainfo), scores, labels, self.classes,
                       self.score_thr)


def load_frame_detector(backend: str, model: str, config=None, device: str = 'cpu', deploy: bool = False,
                        score_thr: Optional[float] = None, threads: int = 0, iou_thr: float = 0.7) -> FrameDetector:
    """``backend`` ``pytorch``: ``model`` is a checkpoint and ``config`` its config (a path or a
    loaded Config, with the checkpoint's settings applied); otherwise ``model`` is an ``.onnx``."""
    if backend not in BACKENDS:
        raise ValueError(f'unknown backend {backend!r}; one of {", ".join(BACKENDS)}')
    if backend == 'pytorch':
        if config is None:
            raise ValueError('the pytorch backend needs a config and a checkpoint')
        return PyTorchFrameDetector(config, model, device=device, deploy=deploy, score_thr=score_thr)
    if not str(model).endswith('.onnx'):
        raise ValueError(f'the {backend} backend runs an exported .onnx model (tools/deployment/export_onnx.py), '
                         f'got {model!r}')
    return ExportedFrameDetector(model, backend, device=device, threads=threads, score_thr=score_thr,
                                 iou_thr=iou_thr)
