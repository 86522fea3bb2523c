# The demo recipe (`make demo`, and the comparison report's fixed schedule): the fire overlay at 256 px for
# 15 epochs, sized for 2 CPU cores, on the embedded synthetic fire/smoke data (tools/misc/make_fire_demo.py).
# Only the input size and the schedule differ from yolo11_fire.py (which keeps the seed's 100 epochs at 640).
# Leaf configs set the model, as the *_fire.py configs do.
_base_ = './yolo11_fire.py'

img_scale = (256, 256)  # width, height (the demo images are 240-320 px)
max_epochs = 15
close_mosaic_epochs = 3
val_interval = 3
randomness = dict(seed=0)  # a repeatable demo (CPU kernels may still differ in the last bits)


def _at_img_scale(pipeline):
    """The base pipelines with every size argument moved to img_scale."""
    out = []
    for t in pipeline:
        t = dict(t)
        if t['type'] == 'Mosaic':
            t['img_scale'] = img_scale
        elif t['type'] in ('YOLOv5KeepRatioResize', 'LetterResize'):
            t['scale'] = img_scale
        elif t['type'] == 'YOLOv5RandomAffine' and 'border' in t:
            t['border'] = (-img_scale[0] // 2, -img_scale[1] // 2)
        out.append(t)
    return out


train_dataloader = dict(dataset=dict(pipeline=_at_img_scale(_base_.train_pipeline)))
val_dataloader = dict(dataset=dict(pipeline=_at_img_scale(_base_.test_pipeline)))
test_dataloader = val_dataloader
_base_.custom_hooks[1].switch_pipeline = _at_img_scale(_base_.train_pipeline_stage2)

# Values derived from max_epochs are not recomputed: set them again.
default_hooks = dict(param_scheduler=dict(max_epochs=max_epochs), logger=dict(interval=10),
                     checkpoint=dict(interval=val_interval))
_base_.custom_hooks[1].switch_epoch = max_epochs - close_mosaic_epochs
train_cfg = dict(max_epochs=max_epochs, val_interval=val_interval,
                 dynamic_intervals=[(max_epochs - close_mosaic_epochs, val_interval)])
