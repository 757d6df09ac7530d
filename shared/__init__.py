"""Business logic of the cache-flush Slack app, shared by every function folder."""
