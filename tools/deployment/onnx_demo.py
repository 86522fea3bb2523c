"""``demo/image_demo.py MODEL INPUT --backend onnxruntime`` under its old name (``--backend
openvino`` and every other flag of image_demo.py pass through)."""
import os.path as osp
import runpy
import sys

if __name__ == '__main__':
    args = sys.argv[1:] if any(a == '--backend' or a.startswith('--backend=') for a in sys.argv[1:]) \
        else sys.argv[1:] + ['--backend', 'onnxruntime']
    sys.argv = [osp.join(osp.dirname(__file__), '..', '..', 'demo', 'image_demo.py')] + args
    runpy.run_path(sys.argv[0], run_name='__main__')
