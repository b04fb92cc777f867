-- Every change the bridge makes, written in the same transaction as the change.
CREATE TABLE scim_audit (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    token_name VARCHAR(100) NOT NULL,
    resource_type VARCHAR(16) NOT NULL,
    resource_id VARCHAR(191) NOT NULL,
    user_name TEXT NULL,
    operation VARCHAR(32) NOT NULL,
    attributes TEXT NOT NULL
);
CREATE INDEX scim_audit_at ON scim_audit (at);
CREATE INDEX scim_audit_resource ON scim_audit (resource_type, resource_id);
