"""Side-by-side measurements of orderflow against its peers: ``python -m benchmarks``."""
