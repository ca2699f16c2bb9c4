"""Credentials the database cannot handle itself: argon2 hashing, signed access tokens, TOTP."""
