"""ModelSummaryHook: one table of the detector's blocks, FasterNet visible, params adding up."""
from types import SimpleNamespace

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmyolo.registry import MODELS

from projects.fasternet_yolo11.hooks import ModelSummaryHook, summary_rows


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
