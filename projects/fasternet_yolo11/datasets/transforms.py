"""Data transforms of the project.

``LenientAlbu`` is mmdet's ``Albu`` for albumentations >= 1.4.11: those versions check the keys
handed to ``Compose`` and raise on any they do not know (``Key img_path is not in available
keys``), while mmdet hands over the whole results dict (img_path, instances, ...), so
``mmdet.Albu`` itself fails with the pinned albumentations. Switching the check off restores
the behaviour mmdet was written for; the transforms themselves are albumentations'. A name of
its own, so that ``mmdet.Albu`` keeps meaning mmdet's class.
"""
from mmdet.datasets.transforms import Albu
from mmyolo.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LenientAlbu(Albu):
    """mmdet's Albu with albumentations' unknown-key check off (same arguments)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.aug.strict = False
