"""Live sources (fasternet_yolo11/deploy/sources.py), the alarm rule (deploy/stream.py), demo/stream_demo.py."""
import json
import os.path as osp
import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest

from fasternet_yolo11.datasets import demo_data
from fasternet_yolo11.deploy.sources import SourceError, StreamReader
from fasternet_yolo11.deploy.stream import AlarmRule, detect_stream

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CONFIG = osp.join(REPO, 'tests', 'configs', 'tiny_fasternet_yolo11.py')
TINY_CKPT = osp.join(REPO, 'tests', 'fixtures', 'tiny_trained', 'tiny_fasternet_yolo11_fire64.pth')
FIRE_FRAMES = range(20, 40)


def write_fire_video(path, frames=60, size=96):
    """Grey frames with a bright orange 'fire' blob only in FIRE_FRAMES."""
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), 10, (size, size))
    for i in range(frames):
        img = np.full((size, size, 3), 90, np.uint8)
        if i in FIRE_FRAMES:
            cv2.circle(img, (size // 2, size // 2), size // 5, (0, 120, 255), -1)  # BGR orange
        writer.write(img)
    writer.release()


class OrangeDetector:
    """A deterministic stand-in for the network: one 'fire' box over the orange pixels."""
    classes = ['fire', 'smoke']
    score_thr = 0.5

    def __call__(self, frame):
        mask = (frame[..., 2] > 200) & (frame[..., 1] > 60) & (frame[..., 1] < 180) & (frame[..., 0] < 80)
        if mask.sum() < 20:
            return []
        ys, xs = np.nonzero(mask)
        return [{'label': 0, 'class': 'fire', 'score': 0.9,
                 'bbox': [float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())]}]


def expected_events(k, n):
    """alarm on the k-th fire frame; clear when the class has been absent n frames in a row."""
    return [('alarm', FIRE_FRAMES[0] + k - 1), ('clear', FIRE_FRAMES[-1] + n)]


@pytest.mark.parametrize('k,n', [(3, 5), (1, 1), (5, 8)])
def test_alarm_rule_frames(k, n):
    rule = AlarmRule(['fire', 'smoke'], k=k, n=n, cooldown=0)
    events = []
    for i in range(70):
        events += rule.update({'fire'} if i in FIRE_FRAMES else set(), i, i / 10)
    assert [(e['event'], e['frame']) for e in events] == expected_events(k, n)
    assert all(e['class'] == 'fire' for e in events)


def test_alarm_cooldown_and_bad_arguments():
    rule = AlarmRule(['fire'], k=2, n=3, cooldown=10)
    events = []
    seen = [1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]  # t = frame (s): 2nd burst inside the cooldown
    for i, s in enumerate(seen):
        events += rule.update({'fire'} if s else set(), i, float(i))
    # the second burst (frames 5-6) comes 5 s after the alarm: no new alarm; the third (15-16) does
    assert [(e['event'], e['frame']) for e in events] == [('alarm', 1), ('clear', 4), ('alarm', 16)]
    with pytest.raises(ValueError, match='k <= n'):
        AlarmRule(['fire'], k=4, n=3)


def test_generated_video_raises_one_alarm_and_one_clear(tmp_path):
    """The real OpenCV path on a file: every frame read in order, the events at the computed frames."""
    video = str(tmp_path / 'fire.mp4')
    write_fire_video(video)
    reader = StreamReader(video)
    assert reader.kind == 'video' and not reader.live and reader.fps == pytest.approx(10)
    results = list(detect_stream(reader, OrangeDetector(), AlarmRule(['fire'], k=3, n=5, cooldown=10)))
    assert [r.index for r in results] == list(range(60))
    assert [bool(r.detections) for r in results] == [i in FIRE_FRAMES for i in range(60)]
    events = [(e['event'], e['frame']) for r in results for e in r.events]
    assert events == expected_events(3, 5)
    assert reader.stats == dict(read=60, dropped=0, reconnects=0)


class FakeCapture:
    """A capture that yields ``frames`` then fails (a camera that drops)."""

    def __init__(self, frames, delay=0.0):
        self.frames = list(frames)
        self.delay = delay
        self.released = False

    def read(self):
        if self.delay:
            time.sleep(self.delay)
        if not self.frames:
            return False, None
        return True, self.frames.pop(0)

    def get(self, prop):
        return 0.0

    def release(self):
        self.released = True


def frame_with(value):
    return np.full((4, 4, 3), value, np.uint8)


def test_live_source_that_dies_is_reopened():
    # a camera at ~50 FPS (the consumer below is faster): 5 frames, it drops, 5 more after a reopen
    captures = [FakeCapture((frame_with(v) for v in range(5)), delay=0.02),
                FakeCapture((frame_with(v) for v in range(100, 105)), delay=0.02)]
    opened, logs, waits = [], [], []

    def opener(source):
        if not captures:
            raise SourceError(f'cannot open source {source!r}')
        opened.append(captures.pop(0))
        return opened[-1]

    reader = StreamReader('rtsp://camera/1', opener=opener, reconnects=3, backoff=0.5, max_backoff=1.0,
                          log=logs.append, sleep=waits.append)
    assert reader.live
    values = []
    for _, _, frame, _ in reader:
        values.append(int(frame[0, 0, 0]))
    assert values[-1] == 104 and any(v < 100 for v in values)
    assert values == sorted(values)  # newest-frame reading never goes back
    assert reader.stats['reconnects'] == 1
    assert reader.stats['read'] == 10 and len(values) + reader.stats['dropped'] == 10
    assert any('lost; reopening' in m for m in logs) and any('reopened' in m for m in logs)
    assert any('gave up after 3 attempts' in m for m in logs)
    assert waits == [0.5, 0.5, 1.0, 1.0]  # back-off doubles to max_backoff, restarts after a reconnect
    assert all(c.released for c in opened)


def test_slow_detector_drops_frames_instead_of_queueing():
    cap = FakeCapture((frame_with(v % 256) for v in range(300)), delay=0.001)
    reader = StreamReader('0', opener=lambda s: cap, reconnects=0, log=lambda m: None)
    assert reader.kind == 'camera' and reader.live
    seen = []

    def slow(frame):
        time.sleep(0.02)
        seen.append(threading.current_thread().name)
        return []
    results = list(detect_stream(reader, slow, AlarmRule(['fire'])))
    assert reader.stats['read'] == 300
    assert reader.stats['dropped'] > 100  # at ~1 ms per frame and 20 ms per inference most are dropped
    assert len(results) + reader.stats['dropped'] == 300
    assert set(seen) == {threading.main_thread().name}


def run_demo(*args, timeout=300):
    return subprocess.run([sys.executable, osp.join(REPO, 'demo', 'stream_demo.py'), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def test_bad_source_is_one_error_line(tmp_path):
    for source in ('rtsp://127.0.0.1:9/none', str(tmp_path / 'missing.mp4')):
        res = run_demo(source, '--config', TINY_CONFIG, '--weights', TINY_CKPT, timeout=120)
        assert res.returncode != 0
        errors = [line for line in res.stderr.splitlines() if line.startswith('error:')]
        assert len(errors) == 1 and 'Traceback' not in res.stderr, res.stderr
        assert 'missing.mp4' in errors[0] or '127.0.0.1' in errors[0]


def write_demo_fire_video(path, frames=60, size=64, fire=FIRE_FRAMES):
    """The demo generator's scenes, which the tiny model was trained on: its backgrounds, with one
    44 px fire in the middle in ``fire`` frames (seeded: the same video every run)."""
    rng = np.random.default_rng(2)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), 10, (size, size))
    for i in range(frames):
        img = demo_data._background(rng, size, size).astype(np.uint8)
        if i in fire:
            demo_data._draw_fire(rng, img, 44, (size - 44) // 2, (size - 44) // 2)
        writer.write(img)
    writer.release()


# The tiny model's fire scores on that video lie under 0.11 in the background frames and over 0.17 in
# the fire frames: at 0.14 it finds the fire in every fire frame and nothing else.
SCORE_THR = '0.14'


def fire_events(events_path):
    lines = [json.loads(line) for line in events_path.read_text().splitlines()]
    frames = [e for e in lines if e['event'] == 'frame']
    return frames, [(e['event'], e['frame']) for e in lines if e['event'] != 'frame']


def test_stream_demo_on_a_video_writes_events_and_video(tmp_path):
    """The command line with the real model (PyTorch): one JSON line per frame, the fire found in the
    fire frames only, the alarm raised inside them (k=3 of n=5) and cleared after, a saved video."""
    video = str(tmp_path / 'fire.mp4')
    write_demo_fire_video(video)
    events, saved = tmp_path / 'events.jsonl', tmp_path / 'out.mp4'
    res = run_demo(video, '--config', TINY_CONFIG, '--weights', TINY_CKPT, '--events', str(events),
                   '--save', str(saved), '--alarm-classes', 'fire', '--alarm-k', '3', '--alarm-n', '5',
                   '--score-thr', SCORE_THR)
    assert res.returncode == 0, res.stderr
    frames, alarms = fire_events(events)
    assert [e['frame'] for e in frames] == list(range(60))
    assert all(set(e) == {'event', 'frame', 't', 'latency_ms', 'detections'} for e in frames)
    seen = [any(d['class'] == 'fire' for d in e['detections']) for e in frames]
    assert seen == [i in FIRE_FRAMES for i in range(60)]
    assert alarms == [('alarm', 22), ('clear', 44)]
    assert 'threshold 0.140' in res.stderr and '60 frames' in res.stderr and 'dropped 0' in res.stderr
    cap = cv2.VideoCapture(str(saved))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 60


@pytest.mark.parametrize('backend', ['onnxruntime', 'openvino'])
def test_stream_demo_runs_an_export_end_to_end(tmp_path, backend):
    """The same video through the exported model in ONNX Runtime and OpenVINO: the same alarm."""
    model = str(tmp_path / 'tiny.onnx')
    export = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'deployment', 'export_onnx.py'), TINY_CONFIG,
                             TINY_CKPT, '--out', model], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert export.returncode == 0, export.stderr
    video = str(tmp_path / 'fire.mp4')
    write_demo_fire_video(video)
    events = tmp_path / 'events.jsonl'
    res = run_demo(video, '--weights', model, '--backend', backend, '--events', str(events),
                   '--alarm-classes', 'fire', '--alarm-k', '3', '--alarm-n', '5', '--score-thr', SCORE_THR)
    assert res.returncode == 0, res.stderr
    frames, alarms = fire_events(events)
    assert len(frames) == 60 and f'{backend} on video' in res.stderr
    assert alarms == [('alarm', 22), ('clear', 44)]
