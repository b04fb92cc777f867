-- Grants the bridge itself wrote ([[users.grants]]): the user (host table, key) got what
-- members of a pushed group get; grant_group is the digest of the group's folded displayName.
-- Only these are ever taken back, and a protected row stays writable by the bridge only
-- through the values one of them explains.
CREATE TABLE scim_grants (
    host_table VARCHAR(128) NOT NULL,
    host_key VARCHAR(191) NOT NULL,
    grant_group CHAR(64) NOT NULL,
    PRIMARY KEY (host_table, host_key, grant_group)
);
