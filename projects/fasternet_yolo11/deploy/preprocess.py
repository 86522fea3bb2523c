"""A frame's way into a detector and its boxes' way back, the same for every runtime.

The preprocessing is the config's test pipeline (letterbox to the model's input size), run on an
in-memory BGR frame (:func:`build_preprocess`); an exported model stores that pipeline and its
normaliser in its metadata, so it is preprocessed by the same code (:func:`normalise`).
:func:`unletterbox` maps boxes from network-input pixels back to the frame.
"""
from typing import List, Sequence

import numpy as np

INFERENCE_META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'pad_param')


def inference_pipeline(pipeline: Sequence[dict]) -> List[dict]:
    """The test pipeline for in-memory BGR frames: load from ndarray, no annotations."""
    out = []
    for t in pipeline:
        # A pipeline read back from JSON (ONNX metadata) has lists where mmyolo wants tuples.
        t = {k: tuple(v) if isinstance(v, list) else v for k, v in dict(t).items()}
        kind = t['type'].split('.')[-1]
        if kind == 'LoadAnnotations':
            continue  # there are none at inference
        if kind == 'LoadImageFromFile':
            t = dict(type='mmdet.LoadImageFromNDArray')
        if kind == 'PackDetInputs':
            t['meta_keys'] = INFERENCE_META_KEYS
        out.append(t)
    return out


def build_preprocess(pipeline: Sequence[dict]):
    """A callable ``(frame, name='')`` -> mmdet's packed ``dict(inputs, data_samples)``: frame
    (H, W, 3) uint8 BGR, ``inputs`` (3, h, w) uint8 BGR at the network's input size."""
    from mmengine.dataset import Compose
    from mmyolo.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    compose = Compose(inference_pipeline(pipeline))

    def preprocess(frame: np.ndarray, name: str = '') -> dict:
        return compose(dict(img=frame, img_id=0, img_path=name))
    return preprocess


def normalise(img_chw, mean: Sequence[float], std: Sequence[float], bgr_to_rgb: bool) -> np.ndarray:
    """(3, H, W) uint8 tensor or array in BGR (as the pipeline packs it) -> (1, 3, H, W) float32,
    as the detector's data preprocessor computes it."""
    x = np.asarray(img_chw.numpy() if hasattr(img_chw, 'numpy') else img_chw, np.float32)
    if bgr_to_rgb:
        x = x[::-1]
    x = (x - np.array(mean, np.float32)[:, None, None]) / np.array(std, np.float32)[:, None, None]
    return np.ascontiguousarray(x[None])


def unletterbox(boxes: np.ndarray, meta: dict) -> np.ndarray:
    """Boxes (n, 4) xyxy in network-input pixels -> original-image pixels (undo LetterResize's
    padding and the resize), clipped to the image, as ``YOLOv5Head.predict_by_feat`` does."""
    boxes = np.asarray(boxes, np.float32).copy()
    if 'pad_param' in meta:
        top, _, left, _ = meta['pad_param']
        boxes -= np.array([left, top, left, top], np.float32)
    sx, sy = meta['scale_factor']
    boxes /= np.array([sx, sy, sx, sy], np.float32)
    h, w = meta['ori_shape'][:2]
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, w)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, h)
    return boxes
