"""The ``assistant`` feature: grounded answers with citations, chat sessions and feedback."""
