"""The pose engine: decode -> detect -> track -> crop -> pose (batched) -> repair -> smooth."""
