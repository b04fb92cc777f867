-- Links whose user was deleted over SCIM while the application keeps its row
-- (origin = 'deleted'): every read excludes those rows, so they are found by origin.
CREATE INDEX scim_users_origin ON scim_users (origin, host_table);
