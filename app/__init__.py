"""Session Rescue: find and bring back Claude Desktop's lost Code sessions."""

__version__ = "0.1.0"
APP_NAME = "Session Rescue"  # the folder name for data, logs and settings
