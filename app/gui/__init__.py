"""The window: a thin Qt view over app.core."""
