-- Who did what, when, in which request: every admin write, and admin actions on a
-- user's order. A row is written before the action runs (outcome STARTED) and given
-- its outcome after, so an action is never unaudited, even if the gateway dies
-- in between. Listed by AdminService.ListAuditEvents; no personal data.
CREATE TABLE admin_audit (
    id          bigserial   PRIMARY KEY,
    admin_id    uuid        NOT NULL,
    action      text        NOT NULL,
    target      text        NOT NULL,
    detail      text        NOT NULL DEFAULT '',
    request_id  uuid        NOT NULL,
    outcome     text        NOT NULL DEFAULT 'STARTED',
    at          timestamptz NOT NULL DEFAULT now(),
    ended_at    timestamptz
);
CREATE INDEX admin_audit_by_admin ON admin_audit (admin_id, id DESC);
CREATE INDEX admin_audit_by_time ON admin_audit (at);

-- ListSagas pages by (created_at, id), newest first, optionally in one state.
DROP INDEX sagas_by_state;
CREATE INDEX sagas_by_state ON sagas (state, created_at DESC, id DESC);
CREATE INDEX sagas_newest ON sagas (created_at DESC, id DESC);
-- Retention deletes finished sagas (and their steps) by age.
CREATE INDEX sagas_finished ON sagas (updated_at) WHERE state IN ('COMPLETED', 'COMPENSATED');
CREATE INDEX parked_events_resolved ON parked_events (resolved_at) WHERE resolved_at IS NOT NULL;
