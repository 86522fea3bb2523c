"""What the command-line tools share (``cli.py``): start-up, config loading, one-line errors and exit codes."""
