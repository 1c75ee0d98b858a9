-- Documents, their bytes (shared by web and workers on any host), their chunks, and memories
-- with a generated full-text vector and a GIN index for ranked search.
CREATE TABLE documents (
    id           uuid PRIMARY KEY,
    filename     text,
    content_type text        NOT NULL,
    size_bytes   bigint      NOT NULL,
    status       text        NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'processing', 'done', 'failed')),
    chunk_count  integer,
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE document_blobs (
    document_id uuid PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
    content     bytea NOT NULL
);

CREATE TABLE document_chunks (
    document_id uuid    NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    chunk_index integer NOT NULL,
    content     text    NOT NULL,
    PRIMARY KEY (document_id, chunk_index)
);

CREATE TABLE memories (
    id            uuid PRIMARY KEY,
    content       text        NOT NULL,
    metadata      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    document_id   uuid REFERENCES documents (id) ON DELETE CASCADE,
    chunk_index   integer,
    created_at    timestamptz NOT NULL DEFAULT now(),
    search_vector tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED,
    -- One memory per document chunk, whatever retries happen.
    UNIQUE (document_id, chunk_index)
);

CREATE INDEX memories_search_vector_idx ON memories USING gin (search_vector);
CREATE INDEX memories_document_id_idx ON memories (document_id);
