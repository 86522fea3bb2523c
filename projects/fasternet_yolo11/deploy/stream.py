"""The alarm of ``demo/stream_demo.py``: per-frame detections into events.

:class:`AlarmRule` turns per-frame detections into events, per class: ``alarm`` when the class
was detected (above the detector's threshold) in at least ``k`` of the last ``n`` frames, at
most one per ``cooldown`` seconds; ``clear`` when an alarmed class has been absent ``n`` frames
in a row. :func:`detect_stream` runs a detector and the rule over a frame source
(:mod:`~fasternet_yolo11.deploy.sources`).
"""
import collections
import time
from typing import Callable, Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence

import numpy as np


class AlarmRule:
    """Per class: ``alarm`` at k of the last n frames (at most one per ``cooldown`` s),
    ``clear`` after n absent frames in a row (see the module docstring)."""

    def __init__(self, classes: Sequence[str], k: int = 3, n: int = 5, cooldown: float = 10.0):
        if not 1 <= k <= n:
            raise ValueError(f'the alarm needs 1 <= k <= n, got k={k} n={n}')
        self.classes, self.k, self.n, self.cooldown = list(classes), k, n, cooldown
        self.history = {c: collections.deque(maxlen=n) for c in self.classes}
        self.active = dict.fromkeys(self.classes, False)
        self.absent = dict.fromkeys(self.classes, 0)
        self.last_alarm: Dict[str, Optional[float]] = dict.fromkeys(self.classes, None)

    def update(self, present: Iterable[str], frame: int, t: float) -> List[dict]:
        """Events for one frame; ``present``: the class names detected in it."""
        present = set(present)
        events = []
        for c in self.classes:
            seen = c in present
            self.history[c].append(seen)
            self.absent[c] = 0 if seen else self.absent[c] + 1
            hits = sum(self.history[c])
            last = self.last_alarm[c]
            if not self.active[c] and hits >= self.k and (last is None or t - last >= self.cooldown):
                self.active[c], self.last_alarm[c] = True, t
                events.append({'event': 'alarm', 'class': c, 'frame': frame, 't': round(t, 3),
                               'hits': hits, 'window': self.n})
            elif self.active[c] and self.absent[c] >= self.n:
                self.active[c] = False
                events.append({'event': 'clear', 'class': c, 'frame': frame, 't': round(t, 3),
                               'absent_frames': self.absent[c]})
        return events


class FrameResult(NamedTuple):
    index: int
    t: float
    frame: np.ndarray
    detections: List[dict]
    latency_ms: float
    fps: float  # frames processed per second, smoothed
    events: List[dict]


def detect_stream(reader: Iterable, detector: Callable[[np.ndarray], List[dict]], alarm: 'AlarmRule',
                  max_frames: int = 0) -> Iterator[FrameResult]:
    """Run ``detector`` (a FrameDetector: frame -> detections above its threshold) on every
    :class:`~fasternet_yolo11.deploy.sources.Frame` ``reader`` yields and ``alarm`` on the
    detected class names; one result per frame."""
    fps, last, count = 0.0, None, 0
    for index, t, frame, _ in reader:
        t0 = time.perf_counter()
        dets = detector(frame)
        now = time.perf_counter()
        if last is not None:
            rate = 1 / max(now - last, 1e-9)
            fps = rate if fps == 0 else 0.9 * fps + 0.1 * rate
        last = now
        events = alarm.update({d['class'] for d in dets}, index, t)
        yield FrameResult(index, t, frame, dets, (now - t0) * 1000, fps, events)
        count += 1
        if max_frames and count >= max_frames:
            break
