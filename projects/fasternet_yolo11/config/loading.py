"""Reading a config file as every tool of this project reads it."""
import os
import os.path as osp

from ..errors import MissingFileError

PACKAGE = 'fasternet_yolo11'
# What configs written before the package became installable import; the same package.
LEGACY_PACKAGE = 'projects.fasternet_yolo11'
# The checkout this package is installed (editable) from: configs/, tools/, data/ live here.
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def load_config(path, cfg_options=None):
    """An mmengine Config of ``path`` with its ``custom_imports`` imported and ``cfg_options``
    merged. Raises :class:`~fasternet_yolo11.errors.MissingFileError` naming the file when it
    does not exist.

    A config that imports the package by its old name (``projects.fasternet_yolo11``, e.g. one
    dumped into a work dir before the package was installable) is read with the current name.
    """
    from mmengine.config import Config
    path = os.fspath(path)
    if not osp.isfile(path):
        raise MissingFileError(f'config file not found: {path!r} (configs live in '
                               f'{osp.join(REPO_ROOT, "configs")})')
    cfg = Config.fromfile(path, import_custom_modules=False)
    imports = cfg.get('custom_imports', {}).get('imports', [])
    if isinstance(imports, str):
        imports = [imports]
    if LEGACY_PACKAGE in imports:
        cfg.custom_imports['imports'] = [PACKAGE if i == LEGACY_PACKAGE else i for i in imports]
    if cfg.get('custom_imports'):
        from mmengine.utils import import_modules_from_strings
        import_modules_from_strings(**cfg.custom_imports)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg
