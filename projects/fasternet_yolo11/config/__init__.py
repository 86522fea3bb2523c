"""Configs: reading them (``loading``), the keys derived from a config's primaries
(``derivation``, also what config files call), and the tools' flags and a checkpoint's settings
on a loaded config (``run_settings``). Sits above ``engine`` and ``datasets``; ``deploy``,
``analysis`` and the command-line tools use it."""
