"""What makes a password acceptable: long enough, not the email itself, and not guessable: zxcvbn (a maintained
strength estimator with lists of common passwords, names, words, keyboard patterns, repeats and dates) must rate it
at least ``auth.min_password_score`` on its 0-4 scale."""

from __future__ import annotations

from zxcvbn import zxcvbn

from mcphost.errors import ValidationFailed

#: zxcvbn's limit; a longer password is judged by its first characters (a strong start makes a strong password).
ESTIMATED_CHARS = 72


def check_password(password: str, *, email: str, min_length: int, min_score: int) -> None:
    problems: list[str] = []
    if len(password) < min_length:
        problems.append(f"Use at least {min_length} characters.")
    lowered = password.lower()
    local_part = email.split("@", 1)[0].lower()
    if len(local_part) >= 4 and local_part in lowered:
        problems.append("Do not use your email address in the password.")
    estimate = zxcvbn(password[:ESTIMATED_CHARS], user_inputs=[email, local_part, "mcphost"])
    if estimate["score"] < min_score:
        feedback = estimate["feedback"]
        why = feedback["warning"] or "It follows a pattern that is quick to guess."
        hint = " ".join(feedback["suggestions"]) or "A few uncommon words together make a strong password."
        problems.append(f"This password is too easy to guess: {why.rstrip('.')}. {hint}")
    if problems:
        raise ValidationFailed(
            "The password is too weak. " + " ".join(problems),
            code="weak_password",
            details=[{"loc": ["body", "password"], "msg": problem} for problem in problems],
        )
