"""Password hashing with argon2id. The cost is a setting (argon2-cffi's recommended profile by default);
hashes made with an older cost are upgraded at the next successful sign-in."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from mcphost.settings import AuthSettings


@dataclass(frozen=True)
class PasswordHashing:
    hasher: PasswordHasher
    # Verified against when the email is unknown, so a sign-in takes as long whether or not the account exists.
    dummy_hash: str

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash or self.dummy_hash, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self.hasher.check_needs_rehash(password_hash)


@lru_cache(maxsize=8)
def _hashing(memory_kib: int, iterations: int) -> PasswordHashing:
    hasher = PasswordHasher(time_cost=iterations, memory_cost=memory_kib)
    return PasswordHashing(hasher, hasher.hash("mcphost-dummy-password"))


def password_hashing(auth: AuthSettings) -> PasswordHashing:
    return _hashing(auth.password_hash_memory_kib, auth.password_hash_iterations)
