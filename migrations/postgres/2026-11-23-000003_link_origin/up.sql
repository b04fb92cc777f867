-- How a link came to be: 'scim' (created or adopted by a SCIM request) or 'import'
-- (pre-linked by `scim-bridge import --apply`; the identity provider's first create adopts it).
ALTER TABLE scim_users ADD COLUMN origin VARCHAR(16) NOT NULL DEFAULT 'scim';
