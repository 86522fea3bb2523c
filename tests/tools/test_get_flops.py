"""tools/analysis_tools/get_flops.py: Ultralytics-convention GFLOPs and the --all table."""
import importlib.util
import os.path as osp
import sys

import pytest
from _tools import REPO  # noqa: E402


@pytest.fixture(scope='module')
def get_flops():
    path = osp.join(REPO, 'tools', 'analysis_tools', 'get_flops.py')
    spec = importlib.util.spec_from_file_location('get_flops', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_all_lists_the_ten_coco_configs(get_flops, monkeypatch):
    monkeypatch.setattr(sys, 'argv', ['get_flops.py', '--all'])
    args = get_flops.parse_args()
    names = [osp.basename(c) for c in args.configs]
    assert len(names) == 10 and all(osp.isfile(c) for c in args.configs)
    assert 'yolo11n_coco.py' in names and 'yolo11x_fasternet_coco.py' in names


def test_yolo11n_matches_ultralytics_gflops(get_flops):
    # Ultralytics' yolo11n.yaml: 6.6 GFLOPs at 640 = 2 x MACs; 1/4 of that at 320.
    res = get_flops.measure(osp.join(REPO, 'configs', 'yolo11n_coco.py'), (320, 320),
                            show_table=False)
    assert res['params'] == 2_624_064
    assert res['gflops_ultralytics'] * 4 == pytest.approx(6.61, abs=0.05)
