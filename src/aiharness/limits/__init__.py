"""Request limits: per-caller rate limits (shared across API processes through the job queue's
Redis or PostgreSQL) and request body size limits, both answered with the platform's JSON."""
