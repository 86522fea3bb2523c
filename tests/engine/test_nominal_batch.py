"""Ultralytics' gradient accumulation in NominalBatchOptimWrapper (engine/optim_wrappers.py): one step per
window of batches (momentum buffers change only then), windows ramped during warm-up as Ultralytics'
trainer ramps ``accumulate``, gradients summed, lr set per iteration by the scheduler hook."""
import types

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmyolo.engine.hooks import YOLOv5ParamSchedulerHook

from fasternet_yolo11.engine.optim_wrappers import NominalBatchOptimWrapper


def ultralytics_steps(n, k, nw):
    """The batches at which Ultralytics 8.3.0's trainer steps (its rule, restated), plus the last."""
    steps, last, accumulate = [], -1, k
    for ni in range(n):
        if nw and ni <= nw:
            accumulate = max(1, int(np.interp(ni, [0, nw], [1, k]).round()))
        if ni - last >= accumulate or ni == n - 1:
            steps.append(ni)
            last = ni
    return steps


def make(k, warmup=None, max_epochs=2, iters_per_epoch=20, init=0, lr=0.1, momentum=0.9, seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    wrapper = NominalBatchOptimWrapper(optimizer=optimizer, accumulative_counts=k, accumulate_warmup=warmup)
    hub = MessageHub.get_current_instance()
    hub.update_info('max_epochs', max_epochs)
    hub.update_info('max_iters', max_epochs * iters_per_epoch)
    wrapper.initialize_count_status(model, init, max_epochs * iters_per_epoch)
    return model, optimizer, wrapper


def momentum_changes(model, optimizer, wrapper, n, start=0, loss_at=None):
    """Run n batches; the batch indices at which the momentum buffer changed."""
    changed = []
    g = torch.Generator().manual_seed(1)
    for ni in range(start, start + n):
        before = [optimizer.state[p].get('momentum_buffer') for p in model.parameters()]
        before = [None if b is None else b.clone() for b in before]
        loss = model(torch.randn(4, 3, generator=g)).sum()
        if loss_at and ni in loss_at:
            loss = loss * loss_at[ni]
        wrapper.update_params(loss)
        after = [optimizer.state[p].get('momentum_buffer') for p in model.parameters()]
        if any(a is not None and (b is None or not torch.equal(a, b)) for a, b in zip(after, before)):
            changed.append(ni)
    return changed


@pytest.mark.parametrize('k, warmup, nw', [(4, None, 0), (4, dict(epochs=1, min_iters=0), 20),
                                           (8, dict(epochs=0.5, min_iters=15), 15), (1, None, 0)])
def test_one_step_per_window(k, warmup, nw):
    model, optimizer, wrapper = make(k, warmup)
    assert momentum_changes(model, optimizer, wrapper, 40) == ultralytics_steps(40, k, nw)


def test_window_gradients_are_summed_not_averaged():
    # no momentum, no decay: one step moves the weights by -lr * (sum of the window's gradients)
    model, optimizer, wrapper = make(3, momentum=0.0)
    batches = [torch.randn(4, 3) for _ in range(3)]
    start = [p.detach().clone() for p in model.parameters()]
    grads = [torch.zeros_like(p) for p in model.parameters()]
    for x in batches:
        model.zero_grad()
        model(x).sum().backward()
        grads = [g + p.grad for g, p in zip(grads, model.parameters())]
    model.zero_grad()
    for x in batches:
        wrapper.update_params(model(x).sum())
    for p, p0, g in zip(model.parameters(), start, grads):
        torch.testing.assert_close(p.detach(), p0 - 0.1 * g)


def test_scheduler_sets_lr_per_iteration_and_steps_use_it():
    iters, k = 20, 4
    model, optimizer, wrapper = make(k, dict(epochs=1, min_iters=0), max_epochs=3, iters_per_epoch=iters)
    hook = YOLOv5ParamSchedulerHook(lr_factor=0.01, max_epochs=3, warmup_epochs=1, warmup_mim_iter=0)
    runner = types.SimpleNamespace(optim_wrapper=wrapper, train_dataloader=[None] * iters, iter=0, epoch=0)
    hook.before_train(runner)
    used, real_step = {}, optimizer.step

    def step(*args, **kwargs):
        used[runner.iter] = optimizer.param_groups[0]['lr']
        return real_step(*args, **kwargs)
    optimizer.step = step
    for ni in range(iters + 10):
        runner.iter, runner.epoch = ni, ni // iters
        hook.before_train_iter(runner, ni % iters)
        wrapper.update_params(model(torch.randn(2, 3)).sum())
    steps = ultralytics_steps(3 * iters, k, iters)
    assert sorted(used) == [s for s in steps if s < iters + 10]
    for ni, lr in used.items():  # Ultralytics' warm-up: lr interpolated at the batch, from 0
        if ni <= iters:
            assert lr == pytest.approx(np.interp(ni, [0, iters], [0.0, 0.1]))


def test_resume_replays_the_windows():
    # a run resumed at batch 26 (inside the ramp's aftermath) steps where the whole run steps
    k, warmup = 4, dict(epochs=1, min_iters=0)
    model, optimizer, wrapper = make(k, warmup)
    whole = momentum_changes(model, optimizer, wrapper, 40)
    for init in (13, 26):
        model, optimizer, wrapper = make(k, warmup, init=init)
        assert momentum_changes(model, optimizer, wrapper, 40 - init, start=init) == \
            [s for s in whole if s >= init]


def test_non_finite_batch_is_never_applied_with_accumulation():
    model, optimizer, wrapper = make(4)
    # batch 1 (mid-window) is NaN: dropped with the window's batch 0; the window still steps at 3
    # batch 7 (a window's last) is Inf: that window ends without a step; the next one is whole
    changed = momentum_changes(model, optimizer, wrapper, 16, loss_at={1: float('nan'), 7: float('inf')})
    assert changed == [3, 11, 15]
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert wrapper.last_loss_finite
