-- Invitations to organizations. The token is kept only as its keyed hash;
-- an invitation is open until accepted or revoked, and at most one is open
-- per organization and e-mail.

CREATE TABLE invitations (
    id           uuid PRIMARY KEY,
    org_id       uuid NOT NULL REFERENCES organizations(id),
    email        text NOT NULL,
    role         text NOT NULL CHECK (role IN ('owner', 'admin', 'developer')),
    secret_hash  bytea NOT NULL UNIQUE,
    invited_by   uuid NOT NULL REFERENCES users(id),
    created_at   bigint NOT NULL,
    expires_at   bigint NOT NULL,
    accepted_at  bigint,
    accepted_by  uuid REFERENCES users(id),
    revoked_at   bigint
);
CREATE INDEX invitations_by_org ON invitations(org_id);
CREATE UNIQUE INDEX invitations_open ON invitations(org_id, email)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
