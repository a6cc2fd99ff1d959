-- Invitations to organizations. The token is kept only as its keyed hash;
-- an invitation is open until accepted or revoked, and at most one is open
-- per organization and e-mail.

CREATE TABLE invitations (
    id           BLOB PRIMARY KEY,
    org_id       BLOB NOT NULL REFERENCES organizations(id),
    email        TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'developer')),
    secret_hash  BLOB NOT NULL UNIQUE,
    invited_by   BLOB NOT NULL REFERENCES users(id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    accepted_at  INTEGER,
    accepted_by  BLOB REFERENCES users(id),
    revoked_at   INTEGER
) STRICT;
CREATE INDEX invitations_by_org ON invitations(org_id);
CREATE UNIQUE INDEX invitations_open ON invitations(org_id, email)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
