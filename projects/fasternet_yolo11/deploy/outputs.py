"""What the demos write: boxes drawn on frames, the stream overlay, and the detection files.

:class:`Outputs` writes drawn images (or a drawn video), one ``detections.json`` for all and
one TXT per image in YOLO's ``class score x1 y1 x2 y2`` pixel form; :func:`overlay` adds the
stream demo's FPS line and alarm banner.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

from ..config.derivation import palette_for


def draw(img: np.ndarray, dets: List[Dict], classes: Sequence[str]) -> np.ndarray:
    """Boxes with ``class score`` labels on a copy of the BGR image."""
    out = img.copy()
    colors = [c[::-1] for c in palette_for(max(len(classes), 1))]  # the dataset's RGB palette, as BGR
    thick = max(1, round(sum(out.shape[:2]) / 600))
    for d in dets:
        x1, y1, x2, y2 = (int(round(v)) for v in d['bbox'])
        color = colors[d['label'] % len(colors)]
        cv2.rectangle(out, (x1, y1), (x2, y2), color, thick)
        text = f"{d['class']} {d['score']:.2f}"
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thick, 1)
        y = max(y1, th + 2)
        cv2.rectangle(out, (x1, y - th - 2), (x1 + tw, y), color, -1)
        cv2.putText(out, text, (x1, y - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thick, (0, 0, 0), 1,
                    cv2.LINE_AA)
    return out


class Outputs:
    """Drawn images (or a drawn video) plus ``detections.json`` and per-image TXT files."""

    def __init__(self, out_dir: str, source: str, video: bool = False, fps: float = 25.):
        self.out_dir = out_dir
        os.makedirs(osp.join(out_dir, 'labels'), exist_ok=True)
        self.video = None
        self.video_path = osp.join(out_dir, osp.splitext(osp.basename(source))[0] + '.mp4') if video else None
        self.fps = fps
        self.results = {}

    def add(self, name: str, img: np.ndarray, dets: List[Dict], classes: Sequence[str]):
        self.results[name] = dets
        drawn = draw(img, dets, classes)
        if self.video_path:
            if self.video is None:
                self.video = video_writer(self.video_path, self.fps, drawn.shape[1::-1])
            self.video.write(drawn)
        else:
            cv2.imwrite(osp.join(self.out_dir, name), drawn)
        stem = osp.splitext(name)[0]
        with open(osp.join(self.out_dir, 'labels', stem + '.txt'), 'w') as f:
            for d in dets:
                f.write(f"{d['label']} {d['score']:.5f} " + ' '.join(f'{v:.2f}' for v in d['bbox'])
                        + '\n')

    def close(self):
        if self.video is not None:
            self.video.release()
        with open(osp.join(self.out_dir, 'detections.json'), 'w') as f:
            json.dump(self.results, f, indent=1)
        return osp.join(self.out_dir, 'detections.json')


def overlay(img: np.ndarray, fps: float, latency_ms: float, alarms: Sequence[str]) -> np.ndarray:
    """FPS and latency in the top-left corner, and a red ``ALARM: <classes>`` banner when active."""
    out = img
    text = f'{fps:5.1f} FPS  {latency_ms:6.1f} ms'
    cv2.putText(out, text, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    if alarms:
        h, w = out.shape[:2]
        cv2.rectangle(out, (0, h - 30), (w, h), (0, 0, 255), -1)
        cv2.putText(out, 'ALARM: ' + ', '.join(alarms), (8, h - 9), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                    (255, 255, 255), 2, cv2.LINE_AA)
    return out


def video_writer(path: str, fps: float, size_wh: Tuple[int, int]):
    """An mp4v writer (folder created)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    return cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps, size_wh)
