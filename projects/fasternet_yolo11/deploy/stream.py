"""Live sources and the alarm rule of ``demo/stream_demo.py``.

Sources (:func:`source_kind`): a webcam index (``0``), an ``rtsp://`` / ``http(s)://`` URL, a
video file, an image or a folder of images. :class:`StreamReader` yields ``(index, t, frame)``:

* a *live* source (webcam, URL) is read by a thread that keeps only the newest frame: when the
  detector is slower than the camera, frames are dropped (counted in ``stats['dropped']``), not
  queued, so the latency stays one inference; ``t`` is the wall-clock time since the start;
* a live source that stops delivering frames is reopened with exponential back-off
  (``backoff`` seconds, doubling, at most ``max_backoff``; ``reconnects`` attempts in a row,
  then the reader gives up), and each attempt is logged;
* a video file or images are read in order, every frame (so a run is repeatable); ``t`` is the
  video time, ``index / fps``.

A source that cannot be opened raises :class:`SourceError` (one line). The capture is opened
by ``opener`` (default :func:`open_capture`, OpenCV), so tests can pass a fake capture.

:class:`AlarmRule` turns per-frame detections into events, per class: ``alarm`` when the class
was detected (above the detector's threshold) in at least ``k`` of the last ``n`` frames, at
most one per ``cooldown`` seconds; ``clear`` when an alarmed class has been absent ``n`` frames
in a row.
"""
import collections
import os
import os.path as osp
import threading
import time
from typing import Callable, Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import cv2
import numpy as np

from .inference import is_video, list_input_images


class SourceError(RuntimeError):
    """A source that cannot be opened or read (the message names it)."""


def source_kind(source: str) -> str:
    """``camera`` | ``url`` | ``video`` | ``images``."""
    s = str(source)
    if s.isdigit():
        return 'camera'
    if '://' in s:
        return 'url'
    if is_video(s):
        return 'video'
    return 'images'


def open_capture(source: str):
    """An opened ``cv2.VideoCapture`` of a camera index, URL or video file, else SourceError."""
    s = str(source)
    cap = cv2.VideoCapture(int(s) if s.isdigit() else s)
    if not cap.isOpened():
        cap.release()
        raise SourceError(f'cannot open source {s!r}')
    return cap


class _ImageCapture:
    """The images of a file or folder behind a VideoCapture-like ``read``."""

    def __init__(self, source):
        try:
            self.files = list_input_images(source)
        except FileNotFoundError as err:
            raise SourceError(str(err)) from None
        self.i = 0

    def isOpened(self):  # noqa: N802 (OpenCV's name)
        return True

    def read(self):
        while self.i < len(self.files):
            img = cv2.imread(self.files[self.i])
            self.i += 1
            if img is not None:
                return True, img
        return False, None

    def get(self, prop):
        return 0.0

    def release(self):
        pass


class StreamReader:
    """Iterate ``(index, t, frame)`` over ``source`` (see the module docstring).

    Args:
        source (str): webcam index, URL, video file, image or folder.
        opener (callable): source -> capture with ``read()``, ``release()``, ``get(prop)``;
            raises SourceError when it cannot open. Default :func:`open_capture`.
        live (bool, optional): thread + newest-frame + reconnect (default: camera and URL).
        fps (float, optional): frame rate for ``t`` of files (default: the video's, else 25).
        reconnects (int): attempts to reopen a live source in a row before giving up.
        backoff, max_backoff (float): first and longest wait between attempts (seconds).
        log (callable): one line per message (reconnects, drops).
        sleep (callable): the back-off wait (tests pass a fast one).
    """

    def __init__(self, source: str, opener: Optional[Callable] = None, live: Optional[bool] = None,
                 fps: Optional[float] = None, reconnects: int = 10, backoff: float = 0.5,
                 max_backoff: float = 8.0, log: Callable[[str], None] = print,
                 sleep: Callable[[float], None] = time.sleep):
        self.source = str(source)
        self.kind = source_kind(self.source)
        if opener is None:
            opener = _ImageCapture if self.kind == 'images' else open_capture
        self.opener = opener
        self.live = self.kind in ('camera', 'url') if live is None else live
        self.reconnects, self.backoff, self.max_backoff = reconnects, backoff, max_backoff
        self.log, self.sleep = log, sleep
        self.stats = dict(read=0, dropped=0, reconnects=0)
        self.cap = self.opener(self.source)  # SourceError: the caller prints one line
        self.fps = fps or (self.cap.get(cv2.CAP_PROP_FPS) if self.kind == 'video' else 0) or 25.0
        self._stop = threading.Event()

    # ---- reading with reconnection (live sources) ----
    def _read(self) -> Tuple[bool, Optional[np.ndarray]]:
        """The next frame; for a live source, reopen (with back-off) until one comes or the
        attempts run out (then ``(False, None)``)."""
        ok, frame = self.cap.read()
        if ok or not self.live:
            return ok, frame
        wait = self.backoff
        for attempt in range(1, self.reconnects + 1):
            if self._stop.is_set():
                return False, None
            self.log(f'stream {self.source!r} lost; reopening in {wait:.1f} s (attempt {attempt}/{self.reconnects})')
            self.sleep(wait)
            wait = min(wait * 2, self.max_backoff)
            try:
                self.cap.release()
                self.cap = self.opener(self.source)
            except SourceError:
                continue
            ok, frame = self.cap.read()
            if ok:
                self.stats['reconnects'] += 1
                self.log(f'stream {self.source!r} reopened')
                return ok, frame
        self.log(f'stream {self.source!r}: gave up after {self.reconnects} attempts')
        return False, None

    def __iter__(self) -> Iterator[Tuple[int, float, np.ndarray]]:
        return self._iter_live() if self.live else self._iter_file()

    def _iter_file(self):
        index = 0
        while True:
            ok, frame = self._read()
            if not ok:
                break
            self.stats['read'] += 1
            yield index, index / self.fps, frame
            index += 1
        self.cap.release()

    def _iter_live(self):
        slot = dict(frame=None, index=-1, done=False)
        cond = threading.Condition()
        start = time.monotonic()

        def grab():
            index = 0
            while not self._stop.is_set():
                ok, frame = self._read()
                with cond:
                    if not ok:
                        slot['done'] = True
                        cond.notify_all()
                        return
                    self.stats['read'] += 1
                    if slot['frame'] is not None:  # the detector has not taken the previous one
                        self.stats['dropped'] += 1
                    slot['frame'], slot['index'], slot['t'] = frame, index, time.monotonic() - start
                    cond.notify_all()
                index += 1

        thread = threading.Thread(target=grab, name='stream-reader', daemon=True)
        thread.start()
        try:
            while True:
                with cond:
                    while slot['frame'] is None and not slot['done']:
                        cond.wait(0.5)
                    if slot['frame'] is None:
                        break
                    item = (slot['index'], slot['t'], slot['frame'])
                    slot['frame'] = None
                yield item
        finally:
            self._stop.set()
            thread.join(timeout=5)
            self.cap.release()

    def close(self):
        self._stop.set()


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
    frame ``reader`` yields and ``alarm`` on the detected class names; one result per frame."""
    fps, last, count = 0.0, None, 0
    for index, t, frame in reader:
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
