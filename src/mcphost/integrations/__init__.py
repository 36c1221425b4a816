"""Services attached to servers: a PostgreSQL database and login role, a Redis ACL user on a key prefix, an S3 bucket
with credentials of its own, each provisioned on the platform's configured store for one server, whose variables
(``DATABASE_URL``, ``REDIS_URL``, ``S3_*``…) it gets at launch. Not ``services/``: those are background loops."""
