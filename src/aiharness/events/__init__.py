"""Platform events: a durable, append-only record of what the platform itself did."""
