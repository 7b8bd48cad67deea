// Versioned schema. Each migration moves the database from version i to i+1 (PRAGMA user_version) in
// one transaction. Never edit a released migration: append a new one.
export const migrations: string[] = [
  // 1: the first schema
  `
  CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL -- JSON
  );
  CREATE TABLE datasets (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL DEFAULT 'text', -- text | afqmc | tnews | ... (a CLUE task)
    status      TEXT NOT NULL DEFAULT 'ready', -- ready (only complete imports are ever inserted)
    dir         TEXT NOT NULL,                -- shards and caches live here
    stats       TEXT NOT NULL DEFAULT '{}',   -- JSON: documents, sentences, characters, histograms
    options     TEXT NOT NULL DEFAULT '{}',   -- JSON: the import options used
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
  );
  CREATE TABLE dataset_files (
    id          INTEGER PRIMARY KEY,
    dataset_id  INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    source_path TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('imported','skipped','failed')),
    reason      TEXT,
    records     INTEGER NOT NULL DEFAULT 0,
    encoding    TEXT,
    task        TEXT,
    split       TEXT,
    bytes       INTEGER NOT NULL DEFAULT 0,
    errors      TEXT NOT NULL DEFAULT '[]'    -- JSON [{line, reason}]
  );
  CREATE INDEX dataset_files_dataset ON dataset_files(dataset_id);
  CREATE TABLE models (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    source      TEXT NOT NULL,                -- imported | trained
    dir         TEXT NOT NULL,                -- HuggingFace layout: config.json, vocab.txt, model.safetensors
    config      TEXT NOT NULL,                -- JSON: the HF config
    run_id      INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
  );
  CREATE TABLE sweeps (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    config      TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
  );
  CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,                -- pretrain | finetune | bench
    status      TEXT NOT NULL CHECK (status IN ('queued','running','completed','failed','cancelled')),
    config      TEXT NOT NULL,                -- JSON: the full run config
    seed        INTEGER NOT NULL,
    backend     TEXT,
    sweep_id    INTEGER REFERENCES sweeps(id) ON DELETE SET NULL,
    dataset_id  INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
    base_model_id INTEGER REFERENCES models(id) ON DELETE SET NULL,
    error       TEXT,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    started_at  TEXT,
    finished_at TEXT
  );
  CREATE TABLE metrics (
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,               -- loss, loss/mlm, lr, tokens_per_sec, dev/accuracy ...
    step        INTEGER NOT NULL,
    value       REAL NOT NULL,
    wall_time   REAL NOT NULL,               -- seconds since the epoch
    PRIMARY KEY (run_id, name, step)
  ) WITHOUT ROWID;
  CREATE TABLE checkpoints (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step        INTEGER NOT NULL,
    path        TEXT NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (run_id, step)
  );
  CREATE TABLE evaluations (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER REFERENCES runs(id) ON DELETE CASCADE,
    model_id    INTEGER REFERENCES models(id) ON DELETE CASCADE,
    dataset_id  INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
    split       TEXT NOT NULL DEFAULT 'dev',
    metrics     TEXT NOT NULL,               -- JSON {accuracy: .., f1: ..}
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    CHECK (run_id IS NOT NULL OR model_id IS NOT NULL)
  );
  `,
]
