-- The key of the application's own group row a pushed group is written to, when the mapping
-- has a [groups] section (NULL: the group lives only in the bridge).
ALTER TABLE scim_groups ADD COLUMN host_key VARCHAR(64) NULL;
