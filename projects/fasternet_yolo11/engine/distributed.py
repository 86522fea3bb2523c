"""Distributed runs on a machine without CUDA (torchrun with gloo)."""
import torch

_started_gloo = False


def use_gloo_without_cuda(cfg):
    """NCCL needs GPUs: on a CPU-only machine distributed runs use gloo. Edits ``cfg`` in place.

    Two more things differ on CPU: DDP must not be given ``device_ids`` (mmengine passes the
    local rank, which only makes sense for a GPU), and SyncBatchNorm only runs on GPUs, so
    mmyolo's ``YOLODetector(use_syncbn=True)`` keeps plain BatchNorm (statistics per process).
    mmengine's ``init_dist`` calls ``torch.cuda.set_device`` unconditionally, which a CPU build
    of torch cannot do, so under torchrun the gloo process group is started here (the Runner
    then uses it as it is).
    """
    if torch.cuda.is_available() or cfg.get('launcher', 'none') == 'none':
        return
    if cfg.get('env_cfg', {}).get('dist_cfg'):
        cfg.env_cfg.dist_cfg['backend'] = 'gloo'
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None,
                                     broadcast_buffers=False)
    if str(cfg.model.get('type', '')).split('.')[-1] in ('YOLODetector', 'ChainedYOLODetector'):
        cfg.model.use_syncbn = False
    if cfg.launcher == 'pytorch' and not torch.distributed.is_initialized():
        import datetime
        options = {k: v for k, v in cfg.env_cfg.get('dist_cfg', {}).items()
                   if k not in ('backend', 'init_backend')}
        if 'timeout' in options:
            options['timeout'] = datetime.timedelta(seconds=options['timeout'])
        torch.distributed.init_process_group(backend='gloo', **options)
        global _started_gloo
        _started_gloo = True


def started_gloo() -> bool:
    """Whether :func:`use_gloo_without_cuda` started a gloo process group in this process."""
    return _started_gloo
