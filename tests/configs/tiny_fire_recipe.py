# The demo recipe cut to one epoch of tiny batches: the comparison report's --train-recipe in tests.
_base_ = '../../configs/_base_/fire_demo.py'

max_epochs = 1
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False)
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(batch_size_per_gpu=2))
default_hooks = dict(param_scheduler=dict(max_epochs=max_epochs), logger=dict(interval=1),
                     checkpoint=dict(interval=1))
_base_.custom_hooks[1].switch_epoch = max_epochs
train_cfg = dict(max_epochs=max_epochs, val_interval=1, dynamic_intervals=[(max_epochs, 1)])
