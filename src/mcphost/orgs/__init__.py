"""Organisations: members with roles, invitations, and the org side of resource ownership."""
