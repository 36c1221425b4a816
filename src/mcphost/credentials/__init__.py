"""Per-user credentials: a server declares variables each user supplies for themselves (``per_user_env``, with
``per_user`` or ``per_session`` isolation); each user's own values go to their own instances. Values are sealed with
the instance key, bound to the user, the server and the name, and never returned."""
