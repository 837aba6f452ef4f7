"""Making images: one image safely (claim, storage check, provider call with retries), the
providers, and the concurrency limit shared by every worker."""
