"""Batches: their state in Redis (every key and Lua script), status derivation, queueing and the
start with its money checks."""
