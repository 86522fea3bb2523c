"""``AtomicCheckpointHook``: a kill at any moment leaves only complete checkpoints.

Checkpoints go through the ``atomic_local`` file backend (``backend_args`` in the configs, see
:mod:`fasternet_yolo11.engine.checkpoint_io`), and ``last_checkpoint`` is replaced atomically
once the checkpoint it names is complete.
"""
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmyolo.registry import HOOKS

from ..checkpoint_io import atomic_write


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """CheckpointHook that never leaves a partial checkpoint or a dangling ``last_checkpoint``.

    Same arguments as mmengine's CheckpointHook. Differences, each so that a kill at any moment
    costs at most the work since the last complete checkpoint:

    - files are written atomically (see :class:`AtomicLocalBackend`);
    - ``last_checkpoint`` is replaced atomically, after the checkpoint it names is complete;
    - checkpoints beyond ``max_keep_ckpts`` are removed only after the new one is on disk
      (mmengine removes the oldest one first).
    """

    def _save_checkpoint_with_step(self, runner, step, meta):
        dropped = []
        if self.max_keep_ckpts > 0 and (not self.keep_ckpt_ids or self.keep_ckpt_ids[-1] != step):
            # keep_ckpt_ids is a deque(maxlen=max_keep_ckpts): note what falls out, delete later
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                dropped.append(self.keep_ckpt_ids[0])
            self.keep_ckpt_ids.append(step)
            # before saving, so the checkpoint knows it is kept (a resumed run prunes it in turn)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir, ckpt_filename, self.file_client_args, save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler, meta=meta, by_epoch=self.by_epoch,
            backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return
        atomic_write(self.last_ckpt, osp.join(runner.work_dir, 'last_checkpoint'))
        for old_step in dropped:
            old = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old_step))
            if self.file_backend.isfile(old):
                self.file_backend.remove(old)
