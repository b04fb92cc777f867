-- No index of scim_users leads with host_table any more: lookups by key, userName and
-- externalId lead with the selective column. (Before PostgreSQL first analyses the table —
-- a fresh install filling it at thousands of rows a minute — its planner took
-- `host_table = $1` as selective and walked every link; see store::users::fetch_links.)
ALTER TABLE scim_users DROP CONSTRAINT scim_users_pkey;
ALTER TABLE scim_users ADD PRIMARY KEY (host_key, host_table);
ALTER TABLE scim_users DROP CONSTRAINT scim_users_host_table_user_name_hash_key;
ALTER TABLE scim_users ADD CONSTRAINT scim_users_user_name_hash_key UNIQUE (user_name_hash, host_table);
DROP INDEX scim_users_external_id;
CREATE INDEX scim_users_external_id ON scim_users (external_id, host_table);
