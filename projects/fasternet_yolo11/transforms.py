"""Data transforms of the project.

``Albu`` is mmdet's ``Albu`` for albumentations >= 1.4.11: those versions check the keys handed
to ``Compose`` and raise on any they do not know (``Key img_path is not in available keys``),
while mmdet hands over the whole results dict (img_path, instances, ...). Switching the check off
restores the behaviour mmdet was written for; the transforms themselves are albumentations'.
"""
from mmdet.datasets.transforms import Albu as MMDetAlbu
from mmyolo.registry import TRANSFORMS


@TRANSFORMS.register_module()
class Albu(MMDetAlbu):
    """mmdet's Albu with albumentations' unknown-key check off (same arguments)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.aug.strict = False
