-- externalId lookups lead with external_id, as on the server databases (SQLite plans by the
-- query, not by statistics, so the primary key and the unique key stay as they are).
DROP INDEX scim_users_external_id;
CREATE INDEX scim_users_external_id ON scim_users (external_id, host_table);
