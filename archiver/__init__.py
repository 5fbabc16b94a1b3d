"""Source archiver: capture the web pages research cites, keep every version, and tell when they change."""

__version__ = "0.1.0"
TOOL_NAME = "source-archiver"
