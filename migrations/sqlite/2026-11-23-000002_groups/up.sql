-- Groups pushed by the identity provider, and their members (users, by SCIM id).
CREATE TABLE scim_groups (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    display_name VARCHAR(255) NOT NULL,
    display_name_hash CHAR(64) NOT NULL UNIQUE,
    external_id VARCHAR(255) NULL,
    resource TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX scim_groups_external_id ON scim_groups (external_id);
CREATE TABLE scim_group_members (
    group_id VARCHAR(36) NOT NULL,
    member_key VARCHAR(191) NOT NULL,
    PRIMARY KEY (group_id, member_key)
);
CREATE INDEX scim_group_members_member ON scim_group_members (member_key);
