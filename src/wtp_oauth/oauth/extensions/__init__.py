"""Extensions of the grants: what they add to requests and responses (ARCHITECTURE §5)."""
