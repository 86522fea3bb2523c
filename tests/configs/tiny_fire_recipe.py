# The demo recipe cut to one epoch of tiny batches: the comparison report's --train-recipe in tests.
_base_ = '../../configs/_base_/fire_demo.py'
from fasternet_yolo11.config.derivation import derived_keys  # noqa: E402

max_epochs = 1
close_mosaic_epochs = 0  # mosaic for the one epoch, as the demo's first epochs
train_batch_size_per_gpu = 2
train_num_workers = val_num_workers = 0
val_interval = save_epoch_intervals = val_interval_stage2 = 1
default_hooks = dict(logger=dict(interval=1))

globals().update(derived_keys(_base_, globals()))
