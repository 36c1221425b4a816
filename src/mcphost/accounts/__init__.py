"""Users, sign-in sessions, personal access tokens, the principal of a request, and quotas."""
