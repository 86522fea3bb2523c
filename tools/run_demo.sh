#!/usr/bin/env bash
# The main job (`make demo`): YOLO11n-FasterNet trained from scratch on the embedded synthetic
# fire/smoke demo (generated here when missing), then COCO mAP of the best checkpoint through
# tools/test.py, then its parameters and FLOPs. Sized for 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
CONFIG=configs/yolo11n_fasternet_fire_demo.py
WORK=${WORK:-work_dirs/yolo11n_fasternet_fire_demo}
start=$(date +%s)
if [[ ! -f data/fire_demo/fire_demo.yaml ]]; then
  echo "[demo] generating the synthetic fire/smoke dataset in data/fire_demo"
  $PY tools/misc/make_fire_demo.py --out data/fire_demo
fi
echo "[demo] training $CONFIG (work dir $WORK)"
$PY tools/train.py "$CONFIG" --work-dir "$WORK"
BEST=$(ls -t "$WORK"/best_coco_bbox_mAP_epoch_*.pth | head -n 1)
echo "[demo] evaluating $BEST"
$PY tools/test.py "$CONFIG" "$BEST" --work-dir "$WORK"
$PY tools/analysis_tools/get_flops.py "$CONFIG" --not-show-table
echo "[demo] finished in $(( $(date +%s) - start )) s; best checkpoint: $BEST"
