"""``ultralytics_to_mmyolo.py`` under its former name (it converts YOLO26 weights too)."""
import os.path as osp
import runpy

if __name__ == '__main__':
    runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), 'ultralytics_to_mmyolo.py'), run_name='__main__')
