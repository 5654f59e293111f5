"""Access control: users, roles, API keys, web sessions, sign-in lock-out and CSRF."""
