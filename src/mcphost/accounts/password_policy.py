"""What makes a password acceptable: long enough, not a well-known password, not the email itself."""

from __future__ import annotations

from mcphost.errors import ValidationFailed

_COMMON = frozenset(
    (
        "password",
        "password1",
        "password12",
        "password123",
        "password1234",
        "passw0rd",
        "123456789",
        "1234567890",
        "12345678910",
        "qwertyuiop",
        "qwerty123",
        "qwerty1234",
        "1q2w3e4r5t",
        "1qaz2wsx3edc",
        "iloveyou123",
        "letmein123",
        "welcome123",
        "admin12345",
        "administrator",
        "changeme123",
        "abc1234567",
        "0123456789",
        "9876543210",
        "1111111111",
        "0000000000",
        "trustno1234",
        "sunshine123",
        "football123",
        "baseball123",
        "dragon1234",
        "monkey1234",
        "superman123",
        "starwars123",
        "princess123",
    )
)


def check_password(password: str, *, email: str, min_length: int) -> None:
    problems: list[str] = []
    if len(password) < min_length:
        problems.append(f"Use at least {min_length} characters.")
    lowered = password.lower()
    if lowered in _COMMON or len(set(password)) < 4:
        problems.append("This password is too easy to guess; choose a less common one.")
    local_part = email.split("@", 1)[0].lower()
    if len(local_part) >= 4 and local_part in lowered:
        problems.append("Do not use your email address in the password.")
    if problems:
        raise ValidationFailed(
            "The password is too weak. " + " ".join(problems),
            code="weak_password",
            details=[{"loc": ["body", "password"], "msg": problem} for problem in problems],
        )
