-- Personal data does not outlive its purpose: a cancelled delivery loses recipient,
-- address, contact and note at once, a received one DELIVERY_PII_RETENTION after
-- receipt (a durable job, like the automatic receipt). The row, its status and times
-- stay. A redacted row has empty fields and `redacted_at`.
ALTER TABLE deliveries ADD COLUMN redacted_at timestamptz;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_recipient_name_check;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_address_check;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_contact_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_recipient_name_check
    CHECK (char_length(recipient_name) BETWEEN 1 AND 100
           OR (redacted_at IS NOT NULL AND recipient_name = ''));
ALTER TABLE deliveries ADD CONSTRAINT deliveries_address_check
    CHECK (char_length(address) BETWEEN 1 AND 500
           OR (redacted_at IS NOT NULL AND address = ''));
ALTER TABLE deliveries ADD CONSTRAINT deliveries_contact_check
    CHECK (char_length(contact) BETWEEN 7 AND 20
           OR (redacted_at IS NOT NULL AND contact = ''));
ALTER TABLE deliveries ADD CONSTRAINT deliveries_redacted_is_empty
    CHECK (redacted_at IS NULL OR (recipient_name = '' AND address = '' AND contact = ''
                                   AND requirement = ''));

-- The redaction job reads received deliveries that still hold personal data, oldest
-- receipt first.
CREATE INDEX deliveries_unredacted_received ON deliveries (received_at)
    WHERE status = 'RECEIVED' AND redacted_at IS NULL;

-- Retention reads the oldest cancel fences first.
CREATE INDEX delivery_cancel_fences_by_time ON delivery_cancel_fences (created_at);

-- What each named reader of the outbox has read (StreamEvents `consumer`): retention
-- deletes only events every named reader is past.
CREATE TABLE outbox_cursors (
    consumer    text        PRIMARY KEY,
    read_offset bigint      NOT NULL CHECK (read_offset >= 0),
    seen_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX delivery_events_by_time ON delivery_events (occurred_at);
