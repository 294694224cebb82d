"""Authentication: passwords, tokens, and resolving who is calling."""
