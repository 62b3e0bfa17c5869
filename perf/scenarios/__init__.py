"""Benchmark scenarios: each entry takes a Ctx and returns a runner.Launch."""
