-- No index of scim_users leads with host_table any more (see the PostgreSQL migration: a
-- planner without statistics took `host_table = ?` as selective and scanned every link).
ALTER TABLE scim_users DROP PRIMARY KEY, ADD PRIMARY KEY (host_key, host_table);
ALTER TABLE scim_users DROP INDEX scim_users_user_name, ADD UNIQUE KEY scim_users_user_name (user_name_hash, host_table);
ALTER TABLE scim_users DROP INDEX scim_users_external_id, ADD KEY scim_users_external_id (external_id, host_table);
