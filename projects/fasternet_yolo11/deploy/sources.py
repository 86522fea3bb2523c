"""Where frames come from: the one reader of every demo (``demo/image_demo.py``,
``demo/stream_demo.py``).

Sources (:func:`source_kind`): a webcam index (``0``), an ``rtsp://`` / ``http(s)://`` URL, a
video file, an image or a folder of images. :class:`StreamReader` yields
:class:`Frame` ``(index, t, image, name)``:

* a *live* source (webcam, URL) is read by a thread that keeps only the newest frame: when the
  detector is slower than the camera, frames are dropped (counted in ``stats['dropped']``), not
  queued, so the latency stays one inference; ``t`` is the wall-clock time since the start;
* a live source that stops delivering frames is reopened with exponential back-off
  (``backoff`` seconds, doubling, at most ``max_backoff``; ``reconnects`` attempts in a row,
  then the reader gives up), and each attempt is logged;
* a video file or images are read in order, every frame (so a run is repeatable); ``t`` is the
  video time, ``index / fps``.

``name`` is an image's file name, ``frame_000012`` for a video or live frame (the demos name
their outputs by it). An image that cannot be read is skipped with a logged line. A source that
cannot be opened raises :class:`SourceError` (one line). The capture is opened by ``opener``
(default :func:`open_capture`, OpenCV), so tests can pass a fake capture.
"""
import os
import os.path as osp
import threading
import time
from typing import Callable, Iterator, List, NamedTuple, Optional, Tuple

import cv2
import numpy as np

from ..errors import MissingFileError, UserError

VIDEO_EXTS = ('.mp4', '.avi', '.mov', '.mkv', '.m4v')


def is_video(path: str) -> bool:
    return osp.isfile(path) and path.lower().endswith(VIDEO_EXTS)


def list_input_images(path: str) -> List[str]:
    """The images of a file or folder source: the file itself, or the images directly in a
    folder, sorted (not those in its subfolders: the outputs keep the file names). In a folder,
    an image is a name ending in one of the dataset's ``IMG_EXTENSIONS``, the rule the dataset
    lists by."""
    from ..datasets.yolo_dataset import IMG_EXTENSIONS
    if osp.isdir(path):
        files = sorted(osp.join(path, f) for f in os.listdir(path) if f.lower().endswith(IMG_EXTENSIONS))
        if not files:
            raise MissingFileError(f'no images ({", ".join(IMG_EXTENSIONS)}) in {path!r}')
        return files
    if not osp.isfile(path):
        raise MissingFileError(f'input not found: {path!r}')
    return [path]


class Frame(NamedTuple):
    index: int
    t: float  # seconds: video time for files, wall-clock since the start for live sources
    image: np.ndarray  # (H, W, 3) uint8 BGR
    name: str


class SourceError(UserError, RuntimeError):
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
    """The images of a file or folder behind a VideoCapture-like ``read``; ``name`` is the file
    name of the image ``read`` returned last."""

    def __init__(self, source, log=print):
        try:
            self.files = list_input_images(source)
        except FileNotFoundError as err:
            raise SourceError(str(err)) from None
        self.i = 0
        self.name = ''
        self.log = log

    def isOpened(self):  # noqa: N802 (OpenCV's name)
        return True

    def read(self):
        while self.i < len(self.files):
            path = self.files[self.i]
            img = cv2.imread(path)
            self.i += 1
            if img is not None:
                self.name = osp.basename(path)
                return True, img
            self.log(f'warning: cannot read {path}, skipped')
        return False, None

    def get(self, prop):
        return float(len(self.files)) if prop == cv2.CAP_PROP_FRAME_COUNT else 0.0

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
            opener = (lambda s: _ImageCapture(s, log)) if self.kind == 'images' else open_capture
        self.opener = opener
        self.live = self.kind in ('camera', 'url') if live is None else live
        self.reconnects, self.backoff, self.max_backoff = reconnects, backoff, max_backoff
        self.log, self.sleep = log, sleep
        self.stats = dict(read=0, dropped=0, reconnects=0)
        self.cap = self.opener(self.source)  # SourceError: the caller prints one line
        self.fps = fps or (self.cap.get(cv2.CAP_PROP_FPS) if self.kind == 'video' else 0) or 25.0
        # frames a file source holds (None for a live one): images, or the video's frame count
        self.total = None if self.live else int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
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

    def __iter__(self) -> Iterator[Frame]:
        return self._iter_live() if self.live else self._iter_file()

    def _name(self, index):
        return getattr(self.cap, 'name', '') or f'frame_{index:06d}'

    def _iter_file(self):
        index = 0
        while True:
            ok, frame = self._read()
            if not ok:
                break
            self.stats['read'] += 1
            yield Frame(index, index / self.fps, frame, self._name(index))
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
                    item = Frame(slot['index'], slot['t'], slot['frame'], f"frame_{slot['index']:06d}")
                    slot['frame'] = None
                yield item
        finally:
            self._stop.set()
            thread.join(timeout=5)
            self.cap.release()

    def close(self):
        self._stop.set()
