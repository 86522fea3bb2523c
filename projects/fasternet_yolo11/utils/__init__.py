"""What the command-line tools share (start-up, configs, errors; inference helpers)."""
