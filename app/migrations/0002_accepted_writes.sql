-- Accepted memory writes, recorded by the web server before it answers 202: the id is visible
-- (queued) at once, a DELETE of a queued memory cancels it, the Idempotency-Key's request
-- fingerprint answers a retry, and a write that cannot be stored ends failed with its reason.
CREATE TABLE memory_requests (
    id           uuid PRIMARY KEY,
    request_hash text        NOT NULL,
    idempotent   boolean     NOT NULL DEFAULT false,
    status       text        NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'stored', 'failed', 'deleted')),
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX memory_requests_updated_at_idx ON memory_requests (updated_at);

-- Documents: the upload's fingerprint (Idempotency-Key) and whether limits cut the text short.
ALTER TABLE documents
    ADD COLUMN request_hash text,
    ADD COLUMN truncated boolean NOT NULL DEFAULT false;
