"""Runs over seeds: the one rule the reports use for "mean ± standard error (each seed)"."""
import math
import statistics


def mean_se(values):
    """(mean, standard error of the mean, sample standard deviation) of per-seed values; NaNs without
    values. One value has no spread to estimate: its standard error and deviation are 0."""
    if not values:
        return float('nan'), float('nan'), float('nan')
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.mean(values), sd / math.sqrt(len(values)), sd
