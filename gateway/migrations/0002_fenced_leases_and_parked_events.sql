-- Leases with an owner and an epoch: a claim (by the request that starts a saga, by
-- recovery, by an operator's retry) takes the next epoch, and every later write of the
-- saga is conditional on it, so a driver that lost its lease (paused, partitioned,
-- slow) can no longer change the saga another driver now owns.
ALTER TABLE sagas
    ADD COLUMN owner uuid,
    ADD COLUMN epoch bigint NOT NULL DEFAULT 0;

-- Events a consumer could not apply after its bounded retries: parked with the reason
-- so the stream moves on; retried later with backoff until applied (or moot), and
-- listed for operators (AdminService.ListParkedEvents).
CREATE TABLE parked_events (
    consumer      text        NOT NULL,
    event_offset  bigint      NOT NULL,
    event_id      uuid        NOT NULL,
    order_id      uuid        NOT NULL,
    kind          text        NOT NULL,
    reason        text        NOT NULL,
    attempts      integer     NOT NULL,
    parked_at     timestamptz NOT NULL DEFAULT now(),
    next_retry_at timestamptz,
    resolved_at   timestamptz,
    PRIMARY KEY (consumer, event_offset),
    CHECK ((resolved_at IS NULL) = (next_retry_at IS NOT NULL))
);

CREATE INDEX parked_events_due ON parked_events (next_retry_at) WHERE resolved_at IS NULL;
CREATE INDEX parked_events_newest ON parked_events (parked_at DESC, consumer, event_offset);
