"""Session Rescue: find and bring back Claude Desktop's lost Code sessions."""

__version__ = "0.1.0"
