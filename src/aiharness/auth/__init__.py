"""Who is calling: principals, and later users, roles, API keys and the audit log."""
