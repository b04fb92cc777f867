-- Lookups lead with the selective column, as on the server databases: links of a page are
-- found by host_key alone (see store::users::fetch_links), externalId by external_id.
CREATE INDEX scim_users_host_key ON scim_users (host_key);
DROP INDEX scim_users_external_id;
CREATE INDEX scim_users_external_id ON scim_users (external_id, host_table);
