# The demo recipe (`make demo`, and the comparison report's fixed schedule): the fire overlay at 256 px for
# 15 epochs, sized for 2 CPU cores, on the embedded synthetic fire/smoke data (tools/misc/make_fire_demo.py).
# Only the input size and the schedule differ from fire.py (which keeps the reference YAML's 100 epochs at 640).
# Leaf configs add a line and pick its scale, as the *_fire.py configs do.
_base_ = './fire.py'
# after the _base_ line, so that mmengine reads this as a plain (not a lazy-import) config
from fasternet_yolo11.config.derivation import derived_keys  # noqa: E402

img_scale = (256, 256)  # width, height (the demo images are 240-320 px)
max_epochs = 15
close_mosaic_epochs = 3
val_interval = save_epoch_intervals = val_interval_stage2 = 3
randomness = dict(seed=0)  # a repeatable demo (CPU kernels may still differ in the last bits)
default_hooks = dict(logger=dict(interval=10))

# every size in the three pipelines, the switch epoch, intervals and schedule, recomputed from _base_
globals().update(derived_keys(_base_, globals()))
