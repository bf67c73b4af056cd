"""Database access built for Lambda: one connection per container, IAM tokens, short timeouts."""
