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
  // Comparing runs (#13): tags and notes on runs; a per-(run, metric) summary kept by triggers, so the run
  // table reads final values and metric names without scanning every point; packed series for the charts;
  // lookups by metric name and evaluations by run. (Reads of one series are range scans of the metrics primary key, run_id, name, step.)
  `
  ALTER TABLE runs ADD COLUMN tags  TEXT NOT NULL DEFAULT '[]'; -- JSON array of strings
  ALTER TABLE runs ADD COLUMN notes TEXT NOT NULL DEFAULT '';
  CREATE TABLE metric_summary (
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    first_step  INTEGER NOT NULL,
    last_step   INTEGER NOT NULL,
    last_value  REAL NOT NULL,               -- the value at last_step
    min_value   REAL NOT NULL,               -- over every value written (a rewritten point keeps its old extreme)
    max_value   REAL NOT NULL,
    first_wall  REAL NOT NULL,
    last_wall   REAL NOT NULL,
    PRIMARY KEY (run_id, name)
  ) WITHOUT ROWID;
  CREATE INDEX metric_summary_name ON metric_summary(name, run_id);
  INSERT INTO metric_summary
    SELECT m.run_id, m.name, MIN(m.step), MAX(m.step),
      (SELECT value FROM metrics l WHERE l.run_id = m.run_id AND l.name = m.name ORDER BY step DESC LIMIT 1),
      MIN(m.value), MAX(m.value), MIN(m.wall_time), MAX(m.wall_time)
    FROM metrics m GROUP BY m.run_id, m.name;
  -- whole series packed for fast reading (Float64 step, value and wall time columns), written when a
  -- finished run's series is first read; any new point of the series drops it
  CREATE TABLE series_pack (
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    points      INTEGER NOT NULL,
    data        BLOB NOT NULL,
    UNIQUE (run_id, name)
  );
  CREATE TRIGGER metrics_summarise AFTER INSERT ON metrics BEGIN
    DELETE FROM series_pack WHERE run_id = NEW.run_id AND name = NEW.name;
    INSERT INTO metric_summary VALUES (NEW.run_id, NEW.name, NEW.step, NEW.step, NEW.value, NEW.value, NEW.value, NEW.wall_time, NEW.wall_time)
    ON CONFLICT (run_id, name) DO UPDATE SET
      first_step = MIN(first_step, excluded.first_step),
      last_value = CASE WHEN excluded.last_step >= last_step THEN excluded.last_value ELSE last_value END,
      last_step  = MAX(last_step, excluded.last_step),
      min_value  = MIN(min_value, excluded.min_value),
      max_value  = MAX(max_value, excluded.max_value),
      first_wall = MIN(first_wall, excluded.first_wall),
      last_wall  = MAX(last_wall, excluded.last_wall);
  END;
  CREATE INDEX evaluations_run ON evaluations(run_id);
  `,
  // Sweeps: a grid of fine-tuning runs run one after another, cancellable and resumable; the sweep's
  // state and the run its dev metric picked as best.
  `
  ALTER TABLE sweeps ADD COLUMN status TEXT NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued','running','completed','failed','cancelled','interrupted'));
  ALTER TABLE sweeps ADD COLUMN best_run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL;
  CREATE INDEX runs_sweep ON runs(sweep_id);
  `,
  // Compare view: beside a packed series, a min/max summary of it (a few thousand of its points), so that
  // the first frame of hundreds of runs reads kilobytes per series instead of whole series. A table of its
  // own: a column after the pack's blob is only reached through the blob's overflow pages. Goes with its
  // pack (dropped by a new point); packs written before get theirs when next read.
  `
  CREATE TABLE series_overview (
    run_id      INTEGER NOT NULL,
    name        TEXT NOT NULL,
    points      INTEGER NOT NULL,            -- of the whole series
    data        BLOB NOT NULL,               -- Float64 step, value and wall time columns of the kept points
    UNIQUE (run_id, name),
    FOREIGN KEY (run_id, name) REFERENCES series_pack (run_id, name) ON DELETE CASCADE
  );
  `,
]
