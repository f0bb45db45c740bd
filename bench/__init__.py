"""Benchmarks that print figures (never timed tests): `newsmon bench` runs them in one go."""
