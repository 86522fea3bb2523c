"""The errors a user can fix: one base class, caught in one place.

Library code raises a :class:`UserError` subclass whose message is one actionable line naming
the file, key or flag at fault; the command-line layer (``fasternet_yolo11.utils.cli.main``)
prints that line and exits with status 2 instead of a traceback. Everything else is a bug and
keeps its traceback.

A subclass that also derives from a built-in exception (``ValueError``, ``FileNotFoundError``)
stays catchable as that exception by library callers. This module imports nothing of the
package: every layer may raise these.
"""


class UserError(Exception):
    """An error the user can fix; ``str(err)`` is the one line the tools print."""


class MissingFileError(UserError, FileNotFoundError):
    """A file or folder named by the user does not exist."""


class ConfigError(UserError, ValueError):
    """A config file, a config key or a run setting (``--data``, ``--epochs``, ...) is unusable."""


class CheckpointError(UserError, ValueError):
    """A checkpoint, weights file or exported model is not what the command needs (wrong kind,
    another architecture, another class count)."""


class KeyMappingError(CheckpointError, KeyError):
    """A weights file's keys do not map onto the model's (a converter names the first key)."""

    __str__ = Exception.__str__  # the message as written, not KeyError's quoted repr


__all__ = ['UserError', 'MissingFileError', 'ConfigError', 'CheckpointError', 'KeyMappingError']
