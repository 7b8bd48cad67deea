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
  // Leases: jobs survive their process. Every job (import, tagging, training, fine-tuning, sweeps) holds
  // a row with its owner's pid, host and heartbeat; a run whose job's owner is gone shows 'interrupted'.
  // runs is rebuilt (SQLite cannot alter a CHECK) to admit 'interrupted' and to keep the full backend
  // line; migrate() runs with foreign keys off so the rebuild cascades nothing.
  `
  -- runs_rebuild_interrupted (tests find this migration by this name)
  CREATE TABLE runs_new (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,                -- pretrain | finetune | bench
    status      TEXT NOT NULL CHECK (status IN ('queued','running','completed','failed','cancelled','interrupted')),
    config      TEXT NOT NULL,                -- JSON: the full run config
    seed        INTEGER NOT NULL,
    backend     TEXT,                         -- the backend's name: tensorflow | webgpu | wasm | cpu
    sweep_id    INTEGER REFERENCES sweeps(id) ON DELETE SET NULL,
    dataset_id  INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
    base_model_id INTEGER REFERENCES models(id) ON DELETE SET NULL,
    error       TEXT,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    started_at  TEXT,
    finished_at TEXT,
    backend_detail TEXT                       -- the backend ladder's full report: kernels, BLAS, threads
  );
  INSERT INTO runs_new (id, name, kind, status, config, seed, backend, sweep_id, dataset_id, base_model_id, error, created_at, started_at, finished_at)
    SELECT id, name, kind, status, config, seed, backend, sweep_id, dataset_id, base_model_id, error, created_at, started_at, finished_at FROM runs;
  DROP TABLE runs;
  ALTER TABLE runs_new RENAME TO runs;
  CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,            -- the JobManager's id
    kind         TEXT NOT NULL,               -- import | tagging | train | ...
    title        TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('running','completed','failed','cancelled','interrupted')),
    run_id       INTEGER REFERENCES runs(id) ON DELETE CASCADE, -- the run this job computes, if any
    owner_pid    INTEGER NOT NULL,
    owner_host   TEXT NOT NULL,
    owner_start  TEXT,                        -- the owner's process start time where the OS tells (pid reuse)
    heartbeat_at REAL NOT NULL,               -- ms since the epoch, renewed every few seconds
    error        TEXT,
    started_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    finished_at  TEXT
  );
  CREATE INDEX jobs_running ON jobs(status) WHERE status = 'running';
  CREATE INDEX jobs_run ON jobs(run_id);
  `,
  // Sweeps: a grid of fine-tuning runs run one after another, cancellable and resumable; the sweep's
  // state and the run its dev metric picked as best.
  `
  ALTER TABLE sweeps ADD COLUMN status TEXT NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued','running','completed','failed','cancelled','interrupted'));
  ALTER TABLE sweeps ADD COLUMN best_run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL;
  CREATE INDEX runs_sweep ON runs(sweep_id);
  `,
]
