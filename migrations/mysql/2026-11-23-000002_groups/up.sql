-- Groups pushed by the identity provider, and their members (users, by SCIM id).
CREATE TABLE scim_groups (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    display_name VARCHAR(255) COLLATE utf8mb4_unicode_ci NOT NULL,
    display_name_hash CHAR(64) NOT NULL UNIQUE,
    external_id VARCHAR(255) NULL,
    resource MEDIUMTEXT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY scim_groups_external_id (external_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE scim_group_members (
    group_id VARCHAR(36) NOT NULL,
    member_key VARCHAR(191) NOT NULL,
    PRIMARY KEY (group_id, member_key),
    KEY scim_group_members_member (member_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
