-- No index of scim_users leads with host_table any more. Until PostgreSQL has analysed the
-- table (a fresh install filling it at thousands of rows a minute), its planner took
-- `host_table = $1` as selective and scanned every link of the table through an index
-- leading with it, filtering a page's `host_key IN (…)` afterwards: 15–20 ms per page of
-- 100 with a few thousand links, measured. Leading with the selective column makes the
-- primary key the only fitting index whatever the statistics say.
ALTER TABLE scim_users DROP CONSTRAINT scim_users_pkey;
ALTER TABLE scim_users ADD PRIMARY KEY (host_key, host_table);
ALTER TABLE scim_users DROP CONSTRAINT scim_users_host_table_user_name_hash_key;
ALTER TABLE scim_users ADD CONSTRAINT scim_users_user_name_hash_key UNIQUE (user_name_hash, host_table);
DROP INDEX scim_users_external_id;
CREATE INDEX scim_users_external_id ON scim_users (external_id, host_table);
