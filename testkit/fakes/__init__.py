"""Faithful local fakes of HTTP services the tests cannot reach."""
from .image_api import FakeImageAPI

__all__ = ["FakeImageAPI"]
