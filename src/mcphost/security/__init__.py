"""Cryptographic building blocks: password hashing, session JWTs, opaque tokens, derived keys."""
