"""ModelSummaryHook: one table of the detector's blocks, FasterNet visible, params adding up."""
from types import SimpleNamespace

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmyolo.registry import MODELS

from fasternet_yolo11.engine.hooks import ModelSummaryHook, summary_rows


@pytest.fixture(scope='module')
def fasternet_n():
    init_default_scope('mmyolo')
    cfg = Config.fromfile('configs/yolo11n_fasternet_fire.py')
    return MODELS.build(cfg.model)


def test_rows_show_fasternet_sppf_c2psa_and_head(fasternet_n):
    rows = summary_rows(fasternet_n, (64, 96))
    by_type = {r[1]: r for r in rows}
    assert rows[0][:2] == ('backbone', 'FasterNet')
    assert rows[0][3] == '80/160/320'  # FasterNet-T0 P3/P4/P5
    assert 'SPPF' in by_type and 'C2PSA' in by_type
    assert by_type['SPPF'][2] == '320'
    assert rows[-1][0] == 'bbox_head'
    assert sum(r[4] for r in rows) == sum(p.numel() for p in fasternet_n.parameters())


def test_hook_logs_one_table(fasternet_n):
    messages = []
    logger = SimpleNamespace(info=lambda fmt, *a: messages.append(fmt % a))
    ModelSummaryHook().before_run(SimpleNamespace(model=fasternet_n, logger=logger))
    assert len(messages) == 1
    assert 'FasterNet' in messages[0] and 'total parameters' in messages[0]
    assert fasternet_n.training  # the summary forward leaves the mode as it was


def test_channels_last_hook_converts_weights_and_keeps_the_loss():
    import copy

    import torch

    from fasternet_yolo11.analysis.train_speed import synthetic_batches
    from fasternet_yolo11.engine.hooks import ChannelsLastHook
    init_default_scope('mmyolo')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile('configs/yolo11n_fasternet_lite_fire.py').model).train()
    nhwc = copy.deepcopy(model)
    messages = []
    logger = SimpleNamespace(info=messages.append, warning=messages.append)
    ChannelsLastHook().before_run(SimpleNamespace(model=nhwc, logger=logger))
    assert messages == ['ChannelsLastHook: model weights in channels_last (NHWC)']
    convs = [m.weight for m in nhwc.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(w.is_contiguous(memory_format=torch.channels_last) for w in convs)
    batch = next(synthetic_batches(2, 64, num_classes=2))
    losses = [m._run_forward(m.data_preprocessor(copy.deepcopy(batch), True), mode='loss')
              for m in (model, nhwc)]
    for key in losses[0]:
        assert torch.allclose(losses[0][key], losses[1][key], rtol=1e-4, atol=1e-5), key
    assert ChannelsLastHook.priority == 'VERY_HIGH'  # before EMAHook copies the model
