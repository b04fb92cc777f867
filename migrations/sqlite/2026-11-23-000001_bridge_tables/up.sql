-- The bridge's own tables. Host tables are never created or altered by migrations.
CREATE TABLE scim_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(100) NOT NULL UNIQUE,
    lookup CHAR(16) NOT NULL UNIQUE,
    secret_hash CHAR(64) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP NULL
);

-- One row per host user a SCIM identity owns: the link, the IdP's last view of the user
-- (attributes the host has no column for), and the userName whose uniqueness the database
-- enforces across every bridge replica.
CREATE TABLE scim_users (
    host_table VARCHAR(128) NOT NULL,
    host_key VARCHAR(191) NOT NULL,
    user_name TEXT NOT NULL,
    user_name_hash CHAR(64) NOT NULL,
    external_id VARCHAR(255) NULL,
    resource TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (host_table, host_key),
    UNIQUE (host_table, user_name_hash)
);
CREATE INDEX scim_users_external_id ON scim_users (host_table, external_id);
