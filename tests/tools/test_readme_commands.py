"""The README's demo commands, exactly as printed, run (in a folder laid out as they expect)."""
import os
import os.path as osp
import re
import shlex
import subprocess
import sys

import cv2
import numpy as np
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CHECKPOINT = 'work_dirs/yolo11n_fasternet_fire/best_coco_bbox_mAP_epoch_30.pth'


def readme_commands(prefix):
    """Every command of the README's code blocks that starts with ``prefix`` (continuations joined)."""
    text = open(osp.join(REPO, 'README.md')).read()
    commands = []
    for block in re.findall(r'```bash\n(.*?)```', text, re.S):
        for cmd in block.replace('\\\n', ' ').splitlines():
            if cmd.startswith(prefix):
                commands.append(shlex.split(cmd, comments=True))
    return commands


def make_layout(root):
    """configs/ and demo/ of the repo, a checkpoint where the README puts it, photos and a video."""
    for name in ('configs', 'demo'):
        os.symlink(osp.join(REPO, name), osp.join(root, name))
    from mmengine.registry import init_default_scope
    from mmyolo.registry import MODELS

    from fasternet_yolo11.utils.cli import load_config
    init_default_scope('mmyolo')
    torch.manual_seed(0)
    model = MODELS.build(load_config(osp.join(REPO, 'configs', 'yolo11n_fasternet_fire.py')).model)
    os.makedirs(osp.join(root, osp.dirname(CHECKPOINT)))
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': {'classes': ('fire', 'smoke')}, 'best_f1_threshold': 0.01}},
               osp.join(root, CHECKPOINT))
    rng = np.random.default_rng(0)
    os.makedirs(osp.join(root, 'photos'))
    for i in range(2):
        cv2.imwrite(osp.join(root, 'photos', f'{i}.jpg'), rng.integers(0, 255, (240, 320, 3), np.uint8))
    os.makedirs(osp.join(root, 'videos'))
    writer = cv2.VideoWriter(osp.join(root, 'videos', 'kitchen.mp4'), cv2.VideoWriter_fourcc(*'mp4v'), 10, (160, 120))
    for _ in range(6):
        writer.write(rng.integers(0, 255, (120, 160, 3), np.uint8))
    writer.release()


def run(cmd, cwd):
    assert cmd[0] == 'python'
    res = subprocess.run([sys.executable, *cmd[1:]], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, f'{shlex.join(cmd)}\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}'
    return res


def test_readme_demo_commands_run_as_printed(tmp_path):
    image = [c for c in readme_commands('python demo/image_demo.py') if c[2].startswith('configs/')]
    stream = [c for c in readme_commands('python demo/stream_demo.py') if c[2].startswith('videos/')]
    assert image and stream, 'the README lost its concrete demo commands'
    root = str(tmp_path)
    make_layout(root)
    for cmd in image:
        out = run(cmd, root).stdout
        assert 'threshold 0.010 (best-F1 threshold of the weights)' in out
        assert osp.isfile(osp.join(root, 'outputs', 'demo', 'detections.json'))
    for cmd in stream:
        res = run(cmd, root)
        assert '6 frames' in res.stderr
        frames = open(osp.join(root, 'events.jsonl')).read().splitlines()
        assert sum('"event": "frame"' in line for line in frames) == 6
        assert osp.isfile(osp.join(root, 'out.mp4'))


def documented_commands():
    """(page, command) for every ``python tools/...`` or ``python demo/...`` line of the README's and
    docs/'s bash blocks (continuations joined)."""
    import glob
    pages = [osp.join(REPO, 'README.md')] + sorted(glob.glob(osp.join(REPO, 'docs', '**', '*.md'), recursive=True))
    out = []
    for page in pages:
        text = open(page).read()
        for block in re.findall(r'```bash\n(.*?)```', text, re.S):
            for cmd in block.replace('\\\n', ' ').splitlines():
                if cmd.startswith(('python tools/', 'python demo/')):
                    out.append((osp.relpath(page, REPO), shlex.split(cmd, comments=True)))
    return out


def parser_of(script):
    """The script's own ``parse_args``, without running its ``__main__``."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(f'doc_{osp.basename(script)[:-3]}', osp.join(REPO, script))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_documented_command_parses_as_printed(monkeypatch):
    """Every tool command of the README and docs/: the script exists, every configs/... path it names
    exists, and its arguments parse with the script's own argparse, exactly as printed (UPPERCASE words
    are placeholders the reader fills in; they parse as the strings they are)."""
    commands = documented_commands()
    assert len(commands) > 30, 'the pages lost their commands'
    pages = {page for page, _ in commands}
    assert {'README.md', 'docs/training.md', 'docs/deployment.md'} <= pages
    for page, cmd in commands:
        script = cmd[1]
        assert osp.isfile(osp.join(REPO, script)), (page, cmd)
        for arg in cmd[2:]:
            if arg.startswith('configs/'):
                assert osp.isfile(osp.join(REPO, arg)), (page, arg)
        module = parser_of(script)
        parse = getattr(module, 'parse_args', None)
        if parse is None:  # an alias that hands its arguments to another script
            continue
        monkeypatch.setattr(sys, 'argv', [script] + cmd[2:])
        try:
            import inspect
            parse(cmd[2:]) if inspect.signature(parse).parameters else parse()
        except SystemExit as err:
            raise AssertionError(f'{page}: {shlex.join(cmd)} does not parse ({err.code})') from None
