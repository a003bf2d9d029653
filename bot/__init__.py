"""Jinhua International Communication Center press bot."""

__version__ = "0.1.0"
