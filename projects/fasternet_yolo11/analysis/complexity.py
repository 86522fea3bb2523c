"""Parameters and FLOPs of a detector, counted as Ultralytics counts them.

mmengine's counter counts one multiply-add as one "flop", so its number is MACs; Ultralytics
reports GFLOPs = 2 x MACs. The model is measured in deploy form (eval mode, PConv slicing,
channels_last) with BN still separate, as Ultralytics counts it.
"""
import os


def measure(config, shape, cfg_options=None, show_table=True, show_arch=False):
    """Returns dict(params, macs, gflops_ultralytics, table, arch) for one config (a config
    file, read as the tools read it, with ``cfg_options`` merged; or a loaded Config) at input
    ``shape`` (H, W). ``table``/``arch``: mmengine's per-module table and tree, when asked for."""
    import torch
    from mmengine.analysis import get_model_complexity_info
    from mmengine.registry import init_default_scope
    from mmyolo.registry import MODELS

    from ..config.loading import load_config
    from ..models.deploy_form import switch_to_deploy
    if isinstance(config, (str, os.PathLike)):
        cfg = load_config(config, cfg_options)
    else:
        cfg = config
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmyolo'))
    model = MODELS.build(cfg.model)
    # The deploy form without the Conv+BN fusion: BN counted separately, as Ultralytics does.
    switch_to_deploy(model, fuse=False)
    h, w = shape
    data = model.data_preprocessor({'inputs': [torch.randint(0, 256, (3, h, w), dtype=torch.uint8)]})
    with torch.no_grad():
        info = get_model_complexity_info(model, inputs=data['inputs'], show_table=show_table,
                                         show_arch=show_arch)
    return dict(params=info['params'], macs=info['flops'], gflops_ultralytics=2 * info['flops'] / 1e9,
                table=info.get('out_table', ''), arch=info.get('out_arch', ''))
