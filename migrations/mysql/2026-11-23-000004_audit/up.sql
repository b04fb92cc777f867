-- Every change the bridge makes, written in the same transaction as the change.
CREATE TABLE scim_audit (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    at DATETIME(6) NOT NULL,
    token_name VARCHAR(100) NOT NULL,
    resource_type VARCHAR(16) NOT NULL,
    resource_id VARCHAR(191) NOT NULL,
    user_name MEDIUMTEXT NULL,
    operation VARCHAR(32) NOT NULL,
    attributes MEDIUMTEXT NOT NULL,
    KEY scim_audit_at (at),
    KEY scim_audit_resource (resource_type, resource_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
