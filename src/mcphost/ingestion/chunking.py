"""Cutting text into overlapping chunks of about ``size`` characters, preferably at a paragraph, sentence or word
boundary. Each chunk records how many of its first characters repeat the previous one (``overlap``), so that a
document can be put back together from its chunks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chunk:
    text: str
    overlap: int


def chunks(text: str, size: int, overlap: int) -> list[Chunk]:
    overlap = min(overlap, size // 2)
    result: list[Chunk] = []
    start, previous_end = 0, 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            window = text[start + size // 2 : end]
            for separator in ("\n\n", "\n", ". ", " "):
                cut = window.rfind(separator)
                if cut != -1:
                    end = start + size // 2 + cut + len(separator)
                    break
        result.append(Chunk(text[start:end], max(0, previous_end - start)))
        if end >= len(text):
            break
        previous_end = end
        start = max(end - overlap, start + 1)
        # Start the overlap at a word boundary.
        space = text.find(" ", start, end)
        if 0 <= space < end - 1 and overlap:
            start = space + 1
    return result
