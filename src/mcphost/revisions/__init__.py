"""Revisions of servers: every deploy numbered, with what it deployed, why and by whom; rollback to any of them."""
