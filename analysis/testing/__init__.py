"""Generated motion with exact ground truth, for tests, benchmarks and demos (never used by the product's own path)."""
