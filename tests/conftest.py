"""Test set-up: the repository root on sys.path and the project registered, as the tools do."""
import os
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)
os.environ['PYTHONPATH'] = os.pathsep.join(p for p in (REPO_ROOT, os.environ.get('PYTHONPATH')) if p)

import projects.fasternet_yolo11  # noqa: E402,F401
