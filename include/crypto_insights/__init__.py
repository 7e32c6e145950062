"""Crypto Insights: live crypto order books to trading intelligence."""

__version__ = "0.1.0"
