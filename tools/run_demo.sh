#!/usr/bin/env bash
# The main job of `make demo`. Until the fire demo lands this is a smoke training: a tiny
# detector on a tiny generated dataset, trained for one epoch, then evaluated with COCO mAP.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
DATA=data/tiny_smoke
WORK=work_dirs/tiny_smoke
[[ -f $DATA/annotations/train.json ]] || $PY -c "
import sys; sys.path.insert(0, 'tests')
from _tiny_data import make_tiny_coco; make_tiny_coco('$DATA', num_images=8)"
OPTS=(train_dataloader.dataset.data_root=$DATA/ val_dataloader.dataset.data_root=$DATA/
      test_dataloader.dataset.data_root=$DATA/ val_evaluator.ann_file=$DATA/annotations/val.json
      test_evaluator.ann_file=$DATA/annotations/val.json)
$PY tools/train.py tests/configs/tiny_det_coco.py --work-dir $WORK --cfg-options "${OPTS[@]}"
$PY tools/test.py tests/configs/tiny_det_coco.py $WORK/epoch_1.pth --work-dir $WORK --cfg-options "${OPTS[@]}"
