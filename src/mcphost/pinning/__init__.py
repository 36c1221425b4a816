"""Pinning of tool, prompt and resource definitions (the "rug pull" defence): each definition a server declares is
recorded by the digest of its canonical JSON; a definition that differs from the one an owner approved, or a new one,
is held (hidden from lists, refused on use) until an owner approves it. See docs/adr/0010-definition-pinning.md."""
