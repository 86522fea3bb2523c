"""``DistillationTeacherHook``: give a ``DistilledYOLODetector`` its frozen teacher before training."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmyolo.registry import HOOKS

from ..distillation import build_teacher


@HOOKS.register_module()
class DistillationTeacherHook(Hook):
    """Build the teacher of the run's ``DistilledYOLODetector`` from its ``teacher`` config and
    ``teacher_checkpoint`` (:func:`~fasternet_yolo11.engine.distillation.build_teacher`) and hand
    it to the model, in ``before_train``: after the EMA copy is made and any resume is loaded, so
    neither holds a teacher. ``tools/train.py --teacher`` adds the hook."""

    priority = 'NORMAL'

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'set_teacher'):
            raise TypeError('DistillationTeacherHook needs a DistilledYOLODetector, '
                            f'the model is {type(model).__name__}')
        model.set_teacher(build_teacher(model.teacher_cfg, model.teacher_checkpoint))
        until = '' if model.stop_epoch is None else f' (until epoch {model.stop_epoch})'
        runner.logger.info(f'distillation teacher loaded from {model.teacher_checkpoint}{until}')
