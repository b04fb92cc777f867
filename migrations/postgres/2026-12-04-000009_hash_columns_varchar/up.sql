-- CHAR(n) is PostgreSQL's bpchar: compared with a text parameter (the driver binds text) the
-- column is cast to text, and no index on it can serve. Every create's userName lookup read
-- all of scim_users (50-70 ms at 100,000 links), every request's token lookup all of
-- scim_tokens, every group lookup by name all of scim_groups. The values are fixed-width hex
-- digests and lookup ids without trailing spaces, so VARCHAR holds exactly the same text.
ALTER TABLE scim_users ALTER COLUMN user_name_hash TYPE VARCHAR(64);
ALTER TABLE scim_groups ALTER COLUMN display_name_hash TYPE VARCHAR(64);
ALTER TABLE scim_tokens ALTER COLUMN lookup TYPE VARCHAR(16), ALTER COLUMN secret_hash TYPE VARCHAR(64);
ALTER TABLE scim_grants ALTER COLUMN grant_group TYPE VARCHAR(64);
