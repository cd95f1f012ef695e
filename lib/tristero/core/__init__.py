"""Core: what every layer uses and that knows nothing of a site: messages as read and
written, the kinds passed between stages, errors, values, patterns, secrets starred."""
