-- CHAR(n) is PostgreSQL's bpchar: compared with a text parameter (the driver binds text) the
-- column is cast to text, and no index on it can serve. Every create's userName lookup read
-- all of scim_users (68 ms at 100,000 links), every request's token lookup all of
-- scim_tokens, every group lookup by name all of scim_groups. The values are fixed-width hex
-- digests and lookup ids without trailing spaces, so VARCHAR holds exactly the same text.
--
-- Only columns the bridge looks rows up by and never selects: a bridge still running on the
-- old version keeps working while this runs (a prepared statement whose result columns change
-- type fails with "cached plan must not change result type" until its connection is closed).
-- secret_hash is compared in the bridge, and grant_group is reached through the primary key's
-- leading columns; both stay CHAR.
ALTER TABLE scim_users ALTER COLUMN user_name_hash TYPE VARCHAR(64);
ALTER TABLE scim_groups ALTER COLUMN display_name_hash TYPE VARCHAR(64);
ALTER TABLE scim_tokens ALTER COLUMN lookup TYPE VARCHAR(16);
