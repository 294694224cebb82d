"""Domain logic (no HTTP): every state change goes through a function here."""
