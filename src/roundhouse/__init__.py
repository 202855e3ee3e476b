"""Roundhouse: self-hosted continuous integration, compatible with .travis.yml."""

__version__ = "0.1.0"
