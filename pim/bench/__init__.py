"""The benchmarks, each measure beside the raw limit of the same machine."""
