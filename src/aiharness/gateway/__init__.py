"""The model gateway: one OpenAI-compatible endpoint in front of the team's own LLM servers."""
