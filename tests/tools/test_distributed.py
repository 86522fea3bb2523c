"""tools/dist_train.sh: 2-process DDP through torchrun, gloo backend on CPU."""
import os
import os.path as osp
import re
import socket
import subprocess

import torch
from _tiny_data import make_tiny_coco
from _tools import REPO, TINY_CFG, data_options


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_dist_train_two_processes_gloo(tmp_path):
    root = make_tiny_coco(str(tmp_path / 'données'), num_images=8)  # non-ASCII path on purpose
    work = str(tmp_path / 'work')
    env = dict(os.environ, PORT=str(free_port()), OMP_NUM_THREADS='1')
    env.pop('PYTHONPATH', None)
    proc = subprocess.run(
        ['bash', 'tools/dist_train.sh', TINY_CFG, '2', '--work-dir', work, '--cfg-options',
         *data_options(root)], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    log = proc.stdout + proc.stderr
    # torchrun exits 0 only when every rank returned 0.
    progress = [ln for ln in log.splitlines() if re.search(r'Epoch\(|Saving|terminate', ln)]
    assert proc.returncode == 0, '\n'.join(progress) + log[-3000:]
    assert 'Distributed training: True' in log and "backend='gloo'" in log
    # 8 images, batch 2 per process: 2 iterations per epoch only if the 2 ranks split the data.
    assert 'Epoch(train) [1][2/2]' in log and 'Epoch(train) [1][2/4]' not in log
    assert sorted(n for n in os.listdir(work) if n.endswith('.pth')) == ['epoch_1.pth']
    ckpt = torch.load(osp.join(work, 'epoch_1.pth'), map_location='cpu', weights_only=True)
    assert (ckpt['meta']['epoch'], ckpt['meta']['iter']) == (1, 2)
    # plain BN on CPU (SyncBN needs GPUs), and DDP's 'module.' prefix is not saved
    assert not any(k.startswith('module.') for k in ckpt['state_dict'])
    assert open(osp.join(work, 'last_checkpoint')).read().strip() == osp.join(work, 'epoch_1.pth')
