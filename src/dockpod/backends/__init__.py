"""Backends: a spec in, the provider operator's arguments out (and, for Docker, the way back)."""
