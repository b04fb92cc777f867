-- The bridge's own tables. Host tables are never created or altered by migrations.
CREATE TABLE scim_tokens (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(100) NOT NULL UNIQUE,
    lookup CHAR(16) NOT NULL UNIQUE,
    secret_hash CHAR(64) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    last_used_at DATETIME(6) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE scim_users (
    host_table VARCHAR(128) NOT NULL,
    host_key VARCHAR(191) NOT NULL,
    user_name MEDIUMTEXT NOT NULL,
    user_name_hash CHAR(64) NOT NULL,
    external_id VARCHAR(255) NULL,
    resource MEDIUMTEXT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    PRIMARY KEY (host_table, host_key),
    UNIQUE KEY scim_users_user_name (host_table, user_name_hash),
    KEY scim_users_external_id (host_table, external_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
