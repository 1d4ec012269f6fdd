//! The embedded cluster: Kubernetes object semantics in one SQLite file.
//!
//! - Every object has a `uid`, a `creationTimestamp`, a `generation` bumped only when
//!   something outside `metadata` and `status` changes, and a `resourceVersion` drawn from one
//!   counter that only grows. An update that names a stale `resourceVersion` is a conflict.
//! - Namespaced objects need their Namespace to exist (or to be created in the same
//!   transaction). `default` exists from the start.
//! - Every write is appended to a change feed (`events`), so controllers and `--watch` can
//!   follow the cluster from a resourceVersion on.
//! - One [`Txn`] is one SQLite transaction: a whole sync is applied or none of it is.
//! - Several processes may open the same file: WAL mode, writers serialised by
//!   `BEGIN IMMEDIATE`, and a busy timeout instead of errors while another writer holds the
//!   lock.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::RngExt;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::{Map, Value};

use super::scope;
use super::{
    Change, Cluster, ClusterError, EventType, Fingerprint, Inventory, InventoryUpdate, Selector,
    WatchEvent, Write,
};
use crate::resource::{APPLIED_HASH, INSTANCE_LABEL, ResourceKey};

/// The schema version in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 2;
/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);
/// How many change-feed entries are kept.
const EVENTS_KEPT: i64 = 200_000;

/// The embedded cluster's store.
pub struct LocalCluster {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for LocalCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCluster")
            .field("path", &self.path)
            .finish()
    }
}

fn db_err(path: &Path) -> impl Fn(rusqlite::Error) -> ClusterError + '_ {
    move |e| ClusterError::Store {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// The key in columns 0–3 (api_group, kind, namespace, name) of a row.
fn key_of_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ResourceKey> {
    Ok(ResourceKey::new(
        r.get::<_, String>(0)?,
        r.get::<_, String>(1)?,
        r.get::<_, String>(2)?,
        r.get::<_, String>(3)?,
    ))
}

/// Why one attempt to open the store failed: busy (try again) or anything else.
enum OpenError {
    Busy(rusqlite::Error),
    Other(ClusterError),
}

impl OpenError {
    fn from_sqlite(path: &Path, e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                OpenError::Busy(e)
            }
            _ => OpenError::Other(db_err(path)(e)),
        }
    }
}

impl LocalCluster {
    /// Opens (creating if needed) the cluster in `state_dir/cluster.db`.
    pub fn open(state_dir: &Path) -> Result<Self, ClusterError> {
        std::fs::create_dir_all(state_dir).map_err(|e| ClusterError::Store {
            path: state_dir.display().to_string(),
            message: format!("cannot create state directory: {e}"),
        })?;
        Self::open_file(&state_dir.join("cluster.db"))
    }

    /// Opens (creating if needed) the cluster in one SQLite file.
    ///
    /// Several processes may open a new file at once. SQLite answers some of the locks
    /// taken while one of them switches the file to WAL or builds its WAL index with
    /// `SQLITE_BUSY` at once, without waiting on the busy timeout, so a busy open is
    /// retried, with short pauses, for as long as the busy timeout.
    pub fn open_file(path: &Path) -> Result<Self, ClusterError> {
        let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
        let mut pause = Duration::from_millis(5);
        loop {
            match Self::open_once(path) {
                Err(OpenError::Busy(e)) if std::time::Instant::now() < deadline => {
                    tracing::debug!(path = %path.display(), error = %e, "store busy while opening; retrying");
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(200));
                }
                Err(OpenError::Busy(e)) => return Err(db_err(path)(e)),
                Err(OpenError::Other(e)) => return Err(e),
                Ok(cluster) => return Ok(cluster),
            }
        }
    }

    fn open_once(path: &Path) -> Result<Self, OpenError> {
        let err = |e: rusqlite::Error| OpenError::from_sqlite(path, e);
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        let mut cluster = LocalCluster {
            conn,
            path: path.to_path_buf(),
        };
        cluster.migrate().map_err(OpenError::Other)?;
        Ok(cluster)
    }

    /// The file behind this cluster.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Starts a migration: a write transaction and the schema version it sees.
    fn begin_migration(&mut self) -> Result<(rusqlite::Transaction<'_>, i64), ClusterError> {
        let err = db_err(&self.path);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(&err)?;
        Ok((tx, version))
    }

    fn migrate(&mut self) -> Result<(), ClusterError> {
        let path = self.path.clone();
        let err = db_err(&path);
        let (tx, version) = self.begin_migration()?;
        if version > SCHEMA_VERSION {
            return Err(ClusterError::Store {
                path: path.display().to_string(),
                message: format!(
                    "the store has schema version {version}, newer than this kascade understands ({SCHEMA_VERSION})"
                ),
            });
        }
        if version < 1 {
            tx.execute_batch(
                "CREATE TABLE objects (
                    api_group TEXT NOT NULL, kind TEXT NOT NULL, namespace TEXT NOT NULL,
                    name TEXT NOT NULL, uid TEXT NOT NULL, resource_version INTEGER NOT NULL,
                    body TEXT NOT NULL, applied_hash TEXT, owner TEXT,
                    PRIMARY KEY (api_group, kind, namespace, name)
                 ) WITHOUT ROWID;
                 CREATE INDEX objects_by_namespace ON objects (namespace, api_group, kind);
                 CREATE INDEX objects_by_owner ON objects
                    (owner, api_group, kind, namespace, name, resource_version, applied_hash);
                 CREATE TABLE events (
                    resource_version INTEGER PRIMARY KEY, type TEXT NOT NULL,
                    api_group TEXT NOT NULL, kind TEXT NOT NULL, namespace TEXT NOT NULL,
                    name TEXT NOT NULL, body TEXT NOT NULL
                 );
                 CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 CREATE TABLE scopes (api_group TEXT NOT NULL, kind TEXT NOT NULL,
                    cluster_scoped INTEGER NOT NULL, PRIMARY KEY (api_group, kind));
                 CREATE TABLE apps (name TEXT PRIMARY KEY, record TEXT NOT NULL, status TEXT);
                 CREATE TABLE inventory (
                    app TEXT NOT NULL, api_group TEXT NOT NULL, kind TEXT NOT NULL,
                    namespace TEXT NOT NULL, name TEXT NOT NULL, resource_version TEXT NOT NULL,
                    applied TEXT,
                    PRIMARY KEY (app, api_group, kind, namespace, name)
                 ) WITHOUT ROWID;
                 INSERT INTO meta (key, value) VALUES ('resource_version', '0');
                 PRAGMA user_version = 2;",
            )
            .map_err(&err)?;
            let mut txn = Txn::new(tx, &path)?;
            txn.create(serde_json::json!({
                "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}
            }))?;
            txn.commit()?;
        } else {
            tx.commit().map_err(&err)?;
        }
        if version == 1 {
            self.migrate_v2()?;
        }
        Ok(())
    }

    /// Version 2 keeps an app's inventory one row per member, with what was applied beside
    /// it, so that a sync reads only the members it compares instead of one large record, and
    /// keeps each object's applied-hash annotation and instance label in columns, so that a
    /// sync finds the objects untouched since it applied them without reading them.
    /// (A new store is created at version 2 directly.)
    fn migrate_v2(&mut self) -> Result<(), ClusterError> {
        let path = self.path.clone();
        let err = db_err(&path);
        let (tx, version) = self.begin_migration()?;
        if version >= 2 {
            return tx.commit().map_err(&err);
        }
        tx.execute_batch(
            "CREATE TABLE inventory (
                app TEXT NOT NULL, api_group TEXT NOT NULL, kind TEXT NOT NULL,
                namespace TEXT NOT NULL, name TEXT NOT NULL, resource_version TEXT NOT NULL,
                applied TEXT,
                PRIMARY KEY (app, api_group, kind, namespace, name)
             ) WITHOUT ROWID;
             ALTER TABLE apps ADD COLUMN status TEXT;
             ALTER TABLE objects ADD COLUMN applied_hash TEXT;
             ALTER TABLE objects ADD COLUMN owner TEXT;
             CREATE INDEX objects_by_owner ON objects
                (owner, api_group, kind, namespace, name, resource_version, applied_hash);",
        )
        .map_err(&err)?;
        tx.execute(
            "UPDATE objects SET applied_hash = json_extract(body, ?1), owner = json_extract(body, ?2)",
            params![json_path_annotation(APPLIED_HASH), json_path_label(INSTANCE_LABEL)],
        )
        .map_err(&err)?;
        // Version 1 kept {revision, syncedAt, objects: [{group, kind, namespace, name,
        // resourceVersion, applied}]} in apps.record.
        let old: Vec<(String, String)> = {
            let mut stmt = tx.prepare("SELECT name, record FROM apps").map_err(&err)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(&err)?;
            rows.collect::<Result<_, _>>().map_err(&err)?
        };
        for (app, record) in old {
            let record = parse_body(&path, &record)?;
            let objects = record.get("objects").and_then(Value::as_array);
            for o in objects.into_iter().flatten() {
                let s = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or_default();
                tx.execute(
                    "INSERT OR REPLACE INTO inventory
                     (app, api_group, kind, namespace, name, resource_version, applied)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        app,
                        s("group"),
                        s("kind"),
                        s("namespace"),
                        s("name"),
                        s("resourceVersion"),
                        o.get("applied").map(Value::to_string)
                    ],
                )
                .map_err(&err)?;
            }
            let head = serde_json::json!({
                "revision": record.get("revision"),
                "syncedAt": record.get("syncedAt"),
            });
            tx.execute(
                "UPDATE apps SET record = ?2 WHERE name = ?1",
                params![app, head.to_string()],
            )
            .map_err(&err)?;
        }
        tx.execute_batch("PRAGMA user_version = 2;").map_err(&err)?;
        tx.commit().map_err(&err)
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE`): everything done through it is
    /// committed together by [`Txn::commit`] or not at all.
    pub fn begin(&mut self) -> Result<Txn<'_>, ClusterError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err(&path))?;
        Txn::new(tx, &path)
    }

    /// Reads one object.
    pub fn get(&self, key: &ResourceKey) -> Result<Option<Value>, ClusterError> {
        get_in(&self.conn, &self.path, key)
    }

    /// Lists the objects of a group and kind, in one namespace or all, matching `selector`.
    pub fn list(
        &self,
        group: &str,
        kind: &str,
        namespace: Option<&str>,
        selector: &Selector,
    ) -> Result<Vec<Value>, ClusterError> {
        list_in(&self.conn, &self.path, group, kind, namespace, selector)
    }

    /// Lists as [`Txn::list_prefix`].
    pub fn list_prefix(
        &self,
        group: &str,
        kind: &str,
        namespace: &str,
        prefix: &str,
    ) -> Result<Vec<Value>, ClusterError> {
        list_prefix_in(&self.conn, &self.path, group, kind, namespace, prefix)
    }

    /// Every object, in key order (for `get all`, tests and integrity checks).
    pub fn all(&self) -> Result<Vec<Value>, ClusterError> {
        let err = db_err(&self.path);
        let mut stmt = self
            .conn
            .prepare_cached("SELECT body FROM objects ORDER BY api_group, kind, namespace, name")
            .map_err(&err)?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(&err)?;
        let mut out = Vec::new();
        for body in rows {
            out.push(parse_body(&self.path, &body.map_err(&err)?)?);
        }
        Ok(out)
    }

    /// Whether objects of this kind live outside namespaces (built-in kinds, and kinds whose
    /// CustomResourceDefinition this cluster holds).
    pub fn is_cluster_scoped(&self, group: &str, kind: &str) -> Result<bool, ClusterError> {
        let stored: Option<bool> = self
            .conn
            .query_row(
                "SELECT cluster_scoped FROM scopes WHERE api_group = ?1 AND kind = ?2",
                params![group, kind],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err(&self.path))?;
        Ok(stored.unwrap_or_else(|| scope::builtin_cluster_scoped(group, kind).unwrap_or(false)))
    }

    /// The newest resourceVersion handed out.
    pub fn resource_version(&self) -> Result<u64, ClusterError> {
        current_rv(&self.conn, &self.path)
    }

    /// Change-feed entries after `since`, oldest first, at most `limit`.
    pub fn events_since(&self, since: u64, limit: usize) -> Result<Vec<WatchEvent>, ClusterError> {
        let err = db_err(&self.path);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT resource_version, type, body FROM events
                 WHERE resource_version > ?1 ORDER BY resource_version LIMIT ?2",
            )
            .map_err(&err)?;
        let rows = stmt
            .query_map(params![since as i64, limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(&err)?;
        let mut out = Vec::new();
        for row in rows {
            let (rv, ty, body) = row.map_err(&err)?;
            out.push(WatchEvent {
                resource_version: rv as u64,
                kind: EventType::parse(&ty),
                object: parse_body(&self.path, &body)?,
            });
        }
        Ok(out)
    }

    /// A value kascade keeps beside the objects (not an object: no resourceVersion, no
    /// event), by key.
    pub fn marker(&self, key: &str) -> Result<Option<String>, ClusterError> {
        self.conn
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                [format!("marker:{key}")],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err(&self.path))
    }

    /// Sets a [`LocalCluster::marker`].
    pub fn set_marker(&self, key: &str, value: &str) -> Result<(), ClusterError> {
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![format!("marker:{key}"), value],
            )
            .map_err(db_err(&self.path))?;
        Ok(())
    }

    /// `PRAGMA integrity_check`: `ok`, or SQLite's list of problems.
    pub fn integrity_check(&self) -> Result<String, ClusterError> {
        self.conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(db_err(&self.path))
    }
}

impl Cluster for LocalCluster {
    fn describe(&self) -> String {
        format!("the embedded cluster {}", self.path.display())
    }

    fn is_embedded(&self) -> bool {
        true
    }

    fn is_cluster_scoped(&self, group: &str, kind: &str) -> Result<bool, ClusterError> {
        LocalCluster::is_cluster_scoped(self, group, kind)
    }

    fn get(&self, key: &ResourceKey) -> Result<Option<Value>, ClusterError> {
        LocalCluster::get(self, key)
    }

    fn list(
        &self,
        group: &str,
        kind: &str,
        namespace: Option<&str>,
        selector: &Selector,
    ) -> Result<Vec<Value>, ClusterError> {
        LocalCluster::list(self, group, kind, namespace, selector)
    }

    fn fingerprints(
        &self,
        keys: &[ResourceKey],
        app: &str,
    ) -> Result<Vec<Option<Fingerprint>>, ClusterError> {
        // The applied hash and owner are columns kept by every write, and an index covers
        // them by owner: the app's own objects come from one index range, without reading a
        // single stored object; the rest (new, or someone else's) one by one.
        let err = db_err(&self.path);
        let mut owned: HashMap<ResourceKey, Fingerprint> = HashMap::new();
        if keys.len() > 64 {
            let mut stmt = self
                .conn
                .prepare_cached(
                    "SELECT api_group, kind, namespace, name, resource_version, applied_hash
                     FROM objects INDEXED BY objects_by_owner WHERE owner = ?1",
                )
                .map_err(&err)?;
            let rows = stmt
                .query_map([app], |r| {
                    Ok((
                        key_of_row(r)?,
                        Fingerprint {
                            resource_version: Some(r.get::<_, i64>(4)?.to_string()),
                            applied_hash: r.get(5)?,
                            owner: Some(app.to_string()),
                        },
                    ))
                })
                .map_err(&err)?;
            for row in rows {
                let (k, f) = row.map_err(&err)?;
                owned.insert(k, f);
            }
        }
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT resource_version, applied_hash, owner FROM objects
                 WHERE api_group = ?1 AND kind = ?2 AND namespace = ?3 AND name = ?4",
            )
            .map_err(&err)?;
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(f) = owned.remove(key) {
                out.push(Some(f));
                continue;
            }
            let row = stmt
                .query_row(params![key.group, key.kind, key.namespace, key.name], |r| {
                    Ok(Fingerprint {
                        resource_version: Some(r.get::<_, i64>(0)?.to_string()),
                        applied_hash: r.get(1)?,
                        owner: r.get(2)?,
                    })
                })
                .optional()
                .map_err(&err)?;
            out.push(row);
        }
        Ok(out)
    }

    fn kinds(&self) -> Result<Vec<(String, String)>, ClusterError> {
        let err = db_err(&self.path);
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT api_group, kind FROM objects ORDER BY api_group, kind")
            .map_err(&err)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(&err)
    }

    fn inventory(&self, app: &str) -> Result<Option<Inventory>, ClusterError> {
        let err = db_err(&self.path);
        let head: Option<String> = self
            .conn
            .query_row("SELECT record FROM apps WHERE name = ?1", [app], |r| {
                r.get(0)
            })
            .optional()
            .map_err(&err)?;
        let Some(head) = head else {
            return Ok(None);
        };
        let head = parse_body(&self.path, &head)?;
        let text = |k: &str| head.get(k).and_then(Value::as_str).map(str::to_string);
        Ok(Some(Inventory {
            revision: text("revision"),
            synced_at: text("syncedAt"),
            members: inventory_members(&self.conn, &self.path, app)?,
        }))
    }

    fn inventories(&self) -> Result<Vec<(String, Inventory)>, ClusterError> {
        let names: Vec<String> = {
            let err = db_err(&self.path);
            let mut stmt = self
                .conn
                .prepare_cached("SELECT name FROM apps ORDER BY name")
                .map_err(&err)?;
            let rows = stmt.query_map([], |r| r.get(0)).map_err(&err)?;
            rows.collect::<Result<_, _>>().map_err(&err)?
        };
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            if let Some(inv) = self.inventory(&name)? {
                out.push((name, inv));
            }
        }
        Ok(out)
    }

    fn last_applied(&self, app: &str, key: &ResourceKey) -> Result<Option<Value>, ClusterError> {
        last_applied_in(&self.conn, &self.path, app, key)
    }

    /// The embedded cluster's own prediction, for the kinds its admission changes (pods and
    /// pod templates): desired laid over live as [`crate::diff::predict`] does, then admitted
    /// against the stored object, exactly as [`Txn::update`] will store it. `None` for other
    /// kinds and for objects that do not exist yet (the caller's prediction is the same).
    fn dry_run_apply(&self, desired: &Value) -> Result<Option<Value>, ClusterError> {
        let Ok(key) = ResourceKey::of(desired) else {
            return Ok(None);
        };
        if crate::images::admission::pod_spec_path(&key.group, &key.kind).is_none() {
            return Ok(None);
        }
        let Some(live) = self.get(&key)? else {
            return Ok(None);
        };
        predict_admitted(&self.conn, &self.path, &key, &live, desired).map(Some)
    }

    fn commit(&mut self, change: Change) -> Result<(), ClusterError> {
        let mut txn = self.begin()?;
        let mut written: HashMap<ResourceKey, String> = HashMap::new();
        for w in change.writes {
            match w {
                Write::Create(object) => {
                    let stored = txn.create(object)?;
                    let key = ResourceKey::of(&stored).map_err(|e| ClusterError::Invalid {
                        key: None,
                        message: e.to_string(),
                    })?;
                    written.insert(key, rv_of(&stored));
                }
                Write::Update {
                    mut merged,
                    desired,
                    resource_version,
                } => {
                    // A pod template was predicted and admitted against the streams as the plan
                    // found them; this change may have just written one of them. Predict again
                    // here, against the same live object (the resourceVersion check below
                    // guarantees it) and the streams as this transaction sees them.
                    if let Ok(key) = ResourceKey::of(&desired)
                        && crate::images::admission::pod_spec_path(&key.group, &key.kind).is_some()
                        && let Some(live) = txn.get(&key)?
                        && resource_version
                            .as_deref()
                            .is_none_or(|rv| rv == rv_of(&live))
                    {
                        merged = predict_admitted(&txn.tx, &txn.path, &key, &live, &desired)?;
                    }
                    let meta = metadata_mut(&mut merged);
                    match resource_version {
                        Some(rv) => meta.insert("resourceVersion".into(), Value::String(rv)),
                        None => meta.remove("resourceVersion"),
                    };
                    let stored = txn.update(merged)?;
                    let key = ResourceKey::of(&stored).map_err(|e| ClusterError::Invalid {
                        key: None,
                        message: e.to_string(),
                    })?;
                    written.insert(key, rv_of(&stored));
                }
                Write::Delete {
                    key,
                    resource_version,
                } => {
                    if let (Some(want), Some(live)) = (&resource_version, txn.get(&key)?)
                        && &rv_of(&live) != want
                    {
                        return Err(ClusterError::Conflict {
                            message: format!(
                                "it changed since the plan was made (resourceVersion {want}, now {})",
                                rv_of(&live)
                            ),
                            key: Box::new(key),
                        });
                    }
                    txn.delete(&key)?;
                }
            }
        }
        if let Some(update) = &change.inventory {
            txn.set_inventory(update, &written)?;
        }
        txn.commit()
    }

    fn delete(&mut self, key: &ResourceKey) -> Result<Option<Value>, ClusterError> {
        let mut txn = self.begin()?;
        let gone = txn.delete(key)?;
        txn.commit()?;
        Ok(gone)
    }

    fn resource_version(&self) -> Result<u64, ClusterError> {
        LocalCluster::resource_version(self)
    }

    fn events_since(&self, since: u64, limit: usize) -> Result<Vec<WatchEvent>, ClusterError> {
        LocalCluster::events_since(self, since, limit)
    }

    fn app_status(&self, app: &str) -> Result<Option<Value>, ClusterError> {
        let body: Option<Option<String>> = self
            .conn
            .query_row("SELECT status FROM apps WHERE name = ?1", [app], |r| {
                r.get(0)
            })
            .optional()
            .map_err(db_err(&self.path))?;
        body.flatten()
            .map(|b| parse_body(&self.path, &b))
            .transpose()
    }

    fn set_app_status(&mut self, app: &str, status: &Value) -> Result<(), ClusterError> {
        self.conn
            .execute(
                "INSERT INTO apps (name, record, status) VALUES (?1, '{}', ?2)
                 ON CONFLICT (name) DO UPDATE SET status = excluded.status",
                params![app, status.to_string()],
            )
            .map_err(db_err(&self.path))?;
        Ok(())
    }
}

/// An app's inventory members and their resourceVersions.
fn inventory_members<C: FromIterator<(ResourceKey, String)>>(
    conn: &Connection,
    path: &Path,
    app: &str,
) -> Result<C, ClusterError> {
    let err = db_err(path);
    let mut stmt = conn
        .prepare_cached(
            "SELECT api_group, kind, namespace, name, resource_version FROM inventory
             WHERE app = ?1",
        )
        .map_err(&err)?;
    let rows = stmt
        .query_map([app], |r| Ok((key_of_row(r)?, r.get::<_, String>(4)?)))
        .map_err(&err)?;
    rows.collect::<Result<C, _>>().map_err(&err)
}

/// A JSON path SQLite's `json_extract` reads an annotation at.
fn json_path_annotation(name: &str) -> String {
    format!("$.metadata.annotations.\"{name}\"")
}

/// A JSON path SQLite's `json_extract` reads a label at.
fn json_path_label(name: &str) -> String {
    format!("$.metadata.labels.\"{name}\"")
}

fn rv_of(v: &Value) -> String {
    v.get("metadata")
        .and_then(|m| m.get("resourceVersion"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn parse_body(path: &Path, body: &str) -> Result<Value, ClusterError> {
    serde_json::from_str(body).map_err(|e| ClusterError::Store {
        path: path.display().to_string(),
        message: format!("stored object is not valid JSON: {e}"),
    })
}

fn current_rv(conn: &Connection, path: &Path) -> Result<u64, ClusterError> {
    let v: String = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'resource_version'",
            [],
            |r| r.get(0),
        )
        .map_err(db_err(path))?;
    v.parse().map_err(|_| ClusterError::Store {
        path: path.display().to_string(),
        message: format!("resource_version counter is not a number: {v:?}"),
    })
}

fn get_in(
    conn: &Connection,
    path: &Path,
    key: &ResourceKey,
) -> Result<Option<Value>, ClusterError> {
    let err = db_err(path);
    let mut stmt = conn
        .prepare_cached(
            "SELECT body FROM objects
             WHERE api_group = ?1 AND kind = ?2 AND namespace = ?3 AND name = ?4",
        )
        .map_err(&err)?;
    let body: Option<String> = stmt
        .query_row(params![key.group, key.kind, key.namespace, key.name], |r| {
            r.get(0)
        })
        .optional()
        .map_err(&err)?;
    body.map(|b| parse_body(path, &b)).transpose()
}

fn list_in(
    conn: &Connection,
    path: &Path,
    group: &str,
    kind: &str,
    namespace: Option<&str>,
    selector: &Selector,
) -> Result<Vec<Value>, ClusterError> {
    let err = db_err(path);
    let mut out = Vec::new();
    let mut push = |body: Result<String, rusqlite::Error>| -> Result<(), ClusterError> {
        let v = parse_body(path, &body.map_err(&err)?)?;
        if selector.matches(labels_of(&v)) {
            out.push(v);
        }
        Ok(())
    };
    match namespace {
        Some(ns) => {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT body FROM objects WHERE api_group = ?1 AND kind = ?2 AND namespace = ?3
                     ORDER BY name",
                )
                .map_err(&err)?;
            for b in stmt
                .query_map(params![group, kind, ns], |r| r.get(0))
                .map_err(&err)?
            {
                push(b)?;
            }
        }
        None => {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT body FROM objects WHERE api_group = ?1 AND kind = ?2
                     ORDER BY namespace, name",
                )
                .map_err(&err)?;
            for b in stmt
                .query_map(params![group, kind], |r| r.get(0))
                .map_err(&err)?
            {
                push(b)?;
            }
        }
    }
    Ok(out)
}

/// What kascade kept of what it applied for `key` in `app`'s inventory.
fn last_applied_in(
    conn: &Connection,
    path: &Path,
    app: &str,
    key: &ResourceKey,
) -> Result<Option<Value>, ClusterError> {
    let err = db_err(path);
    let mut stmt = conn
        .prepare_cached(
            "SELECT applied FROM inventory
             WHERE app = ?1 AND api_group = ?2 AND kind = ?3 AND namespace = ?4 AND name = ?5",
        )
        .map_err(&err)?;
    let body: Option<Option<String>> = stmt
        .query_row(
            params![app, key.group, key.kind, key.namespace, key.name],
            |r| r.get(0),
        )
        .optional()
        .map_err(&err)?;
    body.flatten().map(|b| parse_body(path, &b)).transpose()
}

/// `live` after applying `desired`, as the embedded cluster stores it: desired laid over live
/// three-way ([`crate::diff::predict`], with what the owning app last applied), then admitted
/// against the stored object and the streams `conn` sees.
fn predict_admitted(
    conn: &Connection,
    path: &Path,
    key: &ResourceKey,
    live: &Value,
    desired: &Value,
) -> Result<Value, ClusterError> {
    let app = desired
        .pointer("/metadata/labels")
        .and_then(|l| l.get(INSTANCE_LABEL))
        .and_then(Value::as_str);
    let last = match app {
        Some(app) => last_applied_in(conn, path, app, key)?,
        None => None,
    };
    let mut predicted = crate::diff::predict(live, desired, last.as_ref());
    admit(&mut predicted, Some(live), |k| get_in(conn, path, k))?;
    Ok(predicted)
}

/// The image-policy admission ([`crate::images::admission`]) of an object about to be stored
/// (`old` on an update), reading streams with `get`. It runs in [`Txn::create`] and
/// [`Txn::update`], so every write path — a sync's [`Cluster::commit`], `new-app`, `tag`,
/// `rollout`, the controllers — stores admitted objects, as an API server would; objects a
/// controller owns (ReplicaSets, ReplicationControllers of a rollout) are skipped by the rule
/// itself. A name that stays unresolved is not an error (the plugin's default policy).
fn admit(
    object: &mut Value,
    old: Option<&Value>,
    get: impl Fn(&ResourceKey) -> Result<Option<Value>, ClusterError>,
) -> Result<(), ClusterError> {
    use crate::images::admission;
    if !admission::applies(object) {
        return Ok(());
    }
    let failed: std::cell::RefCell<Option<ClusterError>> = std::cell::RefCell::new(None);
    let lookup = |ns: &str, name: &str| match get(&ResourceKey::new(
        crate::images::GROUP,
        "ImageStream",
        ns,
        name,
    )) {
        Ok(found) => found,
        Err(e) => {
            failed.borrow_mut().get_or_insert(e);
            None
        }
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let outcome = admission::admit(object, old, &lookup, now);
    if let Some(e) = failed.into_inner() {
        return Err(e);
    }
    for r in &outcome.rewrites {
        tracing::debug!(field = %r.field, from = %r.from, to = %r.to, "image policy: local name resolved");
    }
    for r in &outcome.refusals {
        tracing::debug!(field = %r.field, image = %r.image, message = %r.message, "image policy: local name not resolved");
    }
    Ok(())
}

fn list_prefix_in(
    conn: &Connection,
    path: &Path,
    group: &str,
    kind: &str,
    namespace: &str,
    prefix: &str,
) -> Result<Vec<Value>, ClusterError> {
    let err = db_err(path);
    // Names from `prefix` up to (not including) the prefix with its last character bumped.
    let mut upper: Vec<char> = prefix.chars().collect();
    let bumped = upper
        .pop()
        .and_then(|c| char::from_u32(c as u32 + 1))
        .map(|c| {
            upper.push(c);
            upper.iter().collect::<String>()
        });
    let mut stmt = conn
        .prepare_cached(
            "SELECT body FROM objects WHERE api_group = ?1 AND kind = ?2 AND namespace = ?3
             AND name >= ?4 AND (?5 IS NULL OR name < ?5) ORDER BY name",
        )
        .map_err(&err)?;
    let rows = stmt
        .query_map(params![group, kind, namespace, prefix, bumped], |r| {
            r.get::<_, String>(0)
        })
        .map_err(&err)?;
    let mut out = Vec::new();
    for body in rows {
        let v = parse_body(path, &body.map_err(&err)?)?;
        if v.pointer("/metadata/name")
            .and_then(Value::as_str)
            .is_some_and(|n| n.starts_with(prefix))
        {
            out.push(v);
        }
    }
    Ok(out)
}

/// `metadata.labels` as a map of strings.
pub fn labels_of(v: &Value) -> HashMap<&str, &str> {
    v.get("metadata")
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.as_str(), v)))
                .collect()
        })
        .unwrap_or_default()
}

/// One write transaction on the embedded cluster.
pub struct Txn<'a> {
    tx: rusqlite::Transaction<'a>,
    path: PathBuf,
    rv: u64,
    scopes: HashMap<(String, String), bool>,
}

impl<'a> Txn<'a> {
    fn new(tx: rusqlite::Transaction<'a>, path: &Path) -> Result<Self, ClusterError> {
        let rv = current_rv(&tx, path)?;
        let mut scopes = HashMap::new();
        {
            let mut stmt = tx
                .prepare_cached("SELECT api_group, kind, cluster_scoped FROM scopes")
                .map_err(db_err(path))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, bool>(2)?,
                    ))
                })
                .map_err(db_err(path))?;
            for row in rows {
                let (g, k, c) = row.map_err(db_err(path))?;
                scopes.insert((g, k), c);
            }
        }
        Ok(Txn {
            tx,
            path: path.to_path_buf(),
            rv,
            scopes,
        })
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> ClusterError + '_ {
        db_err(&self.path)
    }

    /// Whether objects of this kind live outside namespaces.
    pub fn is_cluster_scoped(&self, group: &str, kind: &str) -> bool {
        if let Some(&c) = self.scopes.get(&(group.to_string(), kind.to_string())) {
            return c;
        }
        scope::builtin_cluster_scoped(group, kind).unwrap_or(false)
    }

    /// Reads one object as this transaction sees it.
    pub fn get(&self, key: &ResourceKey) -> Result<Option<Value>, ClusterError> {
        get_in(&self.tx, &self.path, key)
    }

    /// Lists as [`LocalCluster::list`], inside the transaction.
    pub fn list(
        &self,
        group: &str,
        kind: &str,
        namespace: Option<&str>,
        selector: &Selector,
    ) -> Result<Vec<Value>, ClusterError> {
        list_in(&self.tx, &self.path, group, kind, namespace, selector)
    }

    /// Lists the objects of a group and kind in `namespace` whose names start with `prefix`,
    /// ordered by name: one range of the primary key (controllers find the records they keep
    /// for an object, `NAME-<hash>`, without reading the whole namespace).
    pub fn list_prefix(
        &self,
        group: &str,
        kind: &str,
        namespace: &str,
        prefix: &str,
    ) -> Result<Vec<Value>, ClusterError> {
        list_prefix_in(&self.tx, &self.path, group, kind, namespace, prefix)
    }

    fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    /// Checks the object's identity and scope, and that its namespace exists.
    fn checked_key(&self, object: &Value) -> Result<ResourceKey, ClusterError> {
        let key = ResourceKey::of(object).map_err(|e| ClusterError::Invalid {
            key: None,
            message: e.to_string(),
        })?;
        let cluster_scoped = self.is_cluster_scoped(&key.group, &key.kind);
        if cluster_scoped && !key.namespace.is_empty() {
            return Err(ClusterError::Invalid {
                key: Some(Box::new(key.clone())),
                message: format!("{} is cluster-scoped and cannot have a namespace", key.kind),
            });
        }
        if !cluster_scoped {
            if key.namespace.is_empty() {
                return Err(ClusterError::Invalid {
                    key: Some(Box::new(key.clone())),
                    message: "namespaced object has no metadata.namespace".into(),
                });
            }
            let ns = ResourceKey::new("", "Namespace", "", key.namespace.clone());
            if self.get(&ns)?.is_none() {
                return Err(ClusterError::NamespaceNotFound {
                    key: Box::new(key.clone()),
                    namespace: key.namespace.clone(),
                });
            }
        }
        Ok(key)
    }

    /// Creates an object; it must not exist. Returns it as stored.
    pub fn create(&mut self, mut object: Value) -> Result<Value, ClusterError> {
        let key = self.checked_key(&object)?;
        if key.group.is_empty() && key.kind == "Secret" {
            crate::resource::fold_string_data(&mut object);
        }
        if self.get(&key)?.is_some() {
            return Err(ClusterError::AlreadyExists { key: Box::new(key) });
        }
        admit(&mut object, None, |k| self.get(k))?;
        let rv = self.next_rv();
        let meta = metadata_mut(&mut object);
        meta.insert("uid".into(), Value::String(new_uid()));
        meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
        meta.insert("generation".into(), Value::from(1));
        meta.insert("creationTimestamp".into(), Value::String(now_rfc3339()));
        meta.remove("deletionTimestamp");
        self.write(&key, &object, rv, EventType::Added)?;
        Ok(object)
    }

    /// Replaces an existing object. When `object` carries a `metadata.resourceVersion` it must
    /// be the current one (optimistic concurrency); `uid` and `creationTimestamp` are kept,
    /// `generation` grows when anything outside metadata and status changed.
    pub fn update(&mut self, mut object: Value) -> Result<Value, ClusterError> {
        let key = self.checked_key(&object)?;
        if key.group.is_empty() && key.kind == "Secret" {
            crate::resource::fold_string_data(&mut object);
        }
        let Some(current) = self.get(&key)? else {
            return Err(ClusterError::NotFound { key: Box::new(key) });
        };
        let cur_meta = current.get("metadata").cloned().unwrap_or_default();
        let cur_rv = cur_meta
            .get("resourceVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        if let Some(given) = object
            .get("metadata")
            .and_then(|m| m.get("resourceVersion"))
            .and_then(Value::as_str)
            && given != cur_rv
        {
            return Err(ClusterError::Conflict {
                key: Box::new(key),
                message: format!(
                    "the object has been modified; please apply your changes to the latest version and try again (have {given}, current {cur_rv})"
                ),
            });
        }
        admit(&mut object, Some(&current), |k| self.get(k))?;
        if strip_meta_status(&current) == strip_meta_status(&object)
            && metadata_without_server_fields(&current) == metadata_without_server_fields(&object)
            && current.get("status") == object.get("status")
        {
            return Ok(current); // nothing changed: no new resourceVersion, no event
        }
        let generation = cur_meta
            .get("generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let generation = if strip_meta_status(&current) == strip_meta_status(&object) {
            generation
        } else {
            generation + 1
        };
        let rv = self.next_rv();
        let meta = metadata_mut(&mut object);
        for k in ["uid", "creationTimestamp"] {
            if let Some(v) = cur_meta.get(k) {
                meta.insert(k.into(), v.clone());
            }
        }
        meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
        meta.insert("generation".into(), Value::from(generation));
        self.write(&key, &object, rv, EventType::Modified)?;
        Ok(object)
    }

    /// Creates the object or replaces it, ignoring any resourceVersion it carries.
    pub fn put(&mut self, mut object: Value) -> Result<Value, ClusterError> {
        if let Some(m) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
        }
        let key = self.checked_key(&object)?;
        if self.get(&key)?.is_some() {
            self.update(object)
        } else {
            self.create(object)
        }
    }

    /// Deletes an object; returns it, or `None` when it did not exist. Deleting a Namespace
    /// deletes everything in it.
    pub fn delete(&mut self, key: &ResourceKey) -> Result<Option<Value>, ClusterError> {
        let Some(mut current) = self.get(key)? else {
            return Ok(None);
        };
        if key.group.is_empty() && key.kind == "Namespace" {
            let contained: Vec<(String, String, String)> = {
                let mut stmt = self
                    .tx
                    .prepare_cached(
                        "SELECT api_group, kind, name FROM objects WHERE namespace = ?1",
                    )
                    .map_err(self.err())?;
                let rows = stmt
                    .query_map([&key.name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .map_err(self.err())?;
                rows.collect::<Result<_, _>>().map_err(self.err())?
            };
            for (g, k, n) in contained {
                self.delete(&ResourceKey::new(g, k, key.name.clone(), n))?;
            }
        }
        let rv = self.next_rv();
        metadata_mut(&mut current).insert("resourceVersion".into(), Value::String(rv.to_string()));
        self.tx
            .execute(
                "DELETE FROM objects WHERE api_group = ?1 AND kind = ?2 AND namespace = ?3 AND name = ?4",
                params![key.group, key.kind, key.namespace, key.name],
            )
            .map_err(self.err())?;
        self.event(key, &current, rv, EventType::Deleted)?;
        Ok(Some(current))
    }

    /// Records an app's inventory: members not listed leave it; a member without a
    /// resourceVersion takes the one `written` holds for it; one without an applied object
    /// keeps what is recorded.
    pub fn set_inventory(
        &mut self,
        update: &InventoryUpdate,
        written: &HashMap<ResourceKey, String>,
    ) -> Result<(), ClusterError> {
        let path = self.path.clone();
        let err = db_err(&path);
        let current: HashMap<ResourceKey, String> =
            inventory_members(&self.tx, &self.path, &update.app)?;
        let listed: std::collections::HashSet<&ResourceKey> =
            update.members.iter().map(|m| &m.key).collect();
        {
            let mut gone = self
                .tx
                .prepare_cached(
                    "DELETE FROM inventory
                     WHERE app = ?1 AND api_group = ?2 AND kind = ?3 AND namespace = ?4 AND name = ?5",
                )
                .map_err(&err)?;
            for key in current.keys().filter(|k| !listed.contains(k)) {
                gone.execute(params![
                    update.app,
                    key.group,
                    key.kind,
                    key.namespace,
                    key.name
                ])
                .map_err(&err)?;
            }
            let mut upsert = self
                .tx
                .prepare_cached(
                    "INSERT INTO inventory
                     (app, api_group, kind, namespace, name, resource_version, applied)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (app, api_group, kind, namespace, name) DO UPDATE SET
                       resource_version = excluded.resource_version,
                       applied = coalesce(excluded.applied, inventory.applied)",
                )
                .map_err(&err)?;
            for m in &update.members {
                let k = &m.key;
                let rv = m
                    .resource_version
                    .as_ref()
                    .or_else(|| written.get(k))
                    .cloned()
                    .unwrap_or_default();
                if m.applied.is_none() && current.get(k) == Some(&rv) {
                    continue; // unchanged member
                }
                upsert
                    .execute(params![
                        update.app,
                        k.group,
                        k.kind,
                        k.namespace,
                        k.name,
                        rv,
                        m.applied.as_ref().map(Value::to_string)
                    ])
                    .map_err(&err)?;
            }
        }
        let head = serde_json::json!({"revision": update.revision, "syncedAt": update.synced_at});
        self.tx
            .execute(
                "INSERT INTO apps (name, record) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET record = excluded.record",
                params![update.app, head.to_string()],
            )
            .map_err(&err)?;
        Ok(())
    }

    /// Forgets an app: its inventory and status (its objects stay).
    pub fn delete_app(&mut self, name: &str) -> Result<(), ClusterError> {
        self.tx
            .execute("DELETE FROM inventory WHERE app = ?1", [name])
            .map_err(self.err())?;
        self.tx
            .execute("DELETE FROM apps WHERE name = ?1", [name])
            .map_err(self.err())?;
        Ok(())
    }

    fn write(
        &mut self,
        key: &ResourceKey,
        object: &Value,
        rv: u64,
        ty: EventType,
    ) -> Result<(), ClusterError> {
        if key.group == "apiextensions.k8s.io" && key.kind == "CustomResourceDefinition" {
            self.record_crd_scope(object)?;
        }
        let uid = object
            .get("metadata")
            .and_then(|m| m.get("uid"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let meta = object.get("metadata");
        let marker = |field: &str, name: &str| {
            meta.and_then(|m| m.get(field))
                .and_then(|m| m.get(name))
                .and_then(Value::as_str)
        };
        self.tx
            .prepare_cached(
                "INSERT INTO objects
                   (api_group, kind, namespace, name, uid, resource_version, body, applied_hash, owner)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (api_group, kind, namespace, name) DO UPDATE SET
                   uid = excluded.uid, resource_version = excluded.resource_version,
                   body = excluded.body, applied_hash = excluded.applied_hash,
                   owner = excluded.owner",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    key.group,
                    key.kind,
                    key.namespace,
                    key.name,
                    uid,
                    rv as i64,
                    object.to_string(),
                    marker("annotations", APPLIED_HASH),
                    marker("labels", INSTANCE_LABEL)
                ])
            })
            .map_err(self.err())?;
        self.event(key, object, rv, ty)
    }

    fn record_crd_scope(&mut self, crd: &Value) -> Result<(), ClusterError> {
        let spec = crd.get("spec");
        let group = spec.and_then(|s| s.get("group")).and_then(Value::as_str);
        let kind = spec
            .and_then(|s| s.get("names"))
            .and_then(|n| n.get("kind"))
            .and_then(Value::as_str);
        let cluster = spec.and_then(|s| s.get("scope")).and_then(Value::as_str) == Some("Cluster");
        if let (Some(g), Some(k)) = (group, kind) {
            self.tx
                .execute(
                    "INSERT INTO scopes (api_group, kind, cluster_scoped) VALUES (?1, ?2, ?3)
                     ON CONFLICT (api_group, kind) DO UPDATE SET cluster_scoped = excluded.cluster_scoped",
                    params![g, k, cluster],
                )
                .map_err(self.err())?;
            self.scopes.insert((g.to_string(), k.to_string()), cluster);
        }
        Ok(())
    }

    fn event(
        &mut self,
        key: &ResourceKey,
        object: &Value,
        rv: u64,
        ty: EventType,
    ) -> Result<(), ClusterError> {
        self.tx
            .prepare_cached(
                "INSERT INTO events (resource_version, type, api_group, kind, namespace, name, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    rv as i64,
                    ty.as_str(),
                    key.group,
                    key.kind,
                    key.namespace,
                    key.name,
                    object.to_string()
                ])
            })
            .map_err(self.err())?;
        Ok(())
    }

    /// Commits everything written through this transaction.
    pub fn commit(self) -> Result<(), ClusterError> {
        let err = db_err(&self.path);
        self.tx
            .execute(
                "UPDATE meta SET value = ?1 WHERE key = 'resource_version'",
                [self.rv.to_string()],
            )
            .map_err(&err)?;
        self.tx
            .execute(
                "DELETE FROM events WHERE resource_version <= ?1",
                [self.rv as i64 - EVENTS_KEPT],
            )
            .map_err(&err)?;
        self.tx.commit().map_err(&err)
    }
}

fn metadata_mut(object: &mut Value) -> &mut Map<String, Value> {
    if !object.get("metadata").is_some_and(Value::is_object) {
        object["metadata"] = Value::Object(Map::new());
    }
    match object.get_mut("metadata") {
        Some(Value::Object(m)) => m,
        _ => unreachable!("metadata was just made an object"),
    }
}

/// The object without `metadata` and `status`: what `generation` tracks.
fn strip_meta_status(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| k.as_str() != "metadata" && k.as_str() != "status")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `metadata` without the fields the server sets.
pub fn metadata_without_server_fields(v: &Value) -> Value {
    match v.get("metadata") {
        Some(Value::Object(m)) => Value::Object(
            m.iter()
                .filter(|(k, _)| {
                    !matches!(
                        k.as_str(),
                        "uid"
                            | "resourceVersion"
                            | "generation"
                            | "creationTimestamp"
                            | "managedFields"
                            | "selfLink"
                    )
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        _ => Value::Object(Map::new()),
    }
}

/// A random RFC 4122 version 4 UUID.
fn new_uid() -> String {
    let mut b: [u8; 16] = rand::rng().random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Now, as RFC 3339 UTC with second precision (`2026-11-21T11:46:35Z`), as Kubernetes writes
/// timestamps.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// Seconds since the epoch as RFC 3339 UTC.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cm(name: &str, ns: &str, data: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": {"k": data}})
    }

    /// A store written by the first release (schema 1: one JSON record per app, no marker
    /// columns) opens, migrates, and answers inventories and fingerprints.
    #[test]
    fn schema_1_store_migrates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.db");
        {
            let conn = Connection::open(&path).unwrap();
            let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
                "name": "a", "namespace": "default", "resourceVersion": "7", "uid": "u",
                "labels": {INSTANCE_LABEL: "web"}, "annotations": {APPLIED_HASH: "sha256:ab"}}});
            let record = json!({"revision": "r1", "syncedAt": "2026-01-01T00:00:00Z", "objects": [
                {"group": "", "kind": "ConfigMap", "namespace": "default", "name": "a",
                 "resourceVersion": "7", "applied": {"kind": "ConfigMap", "data": {"k": "v"}}}]});
            conn.execute_batch(
                "CREATE TABLE objects (api_group TEXT NOT NULL, kind TEXT NOT NULL,
                    namespace TEXT NOT NULL, name TEXT NOT NULL, uid TEXT NOT NULL,
                    resource_version INTEGER NOT NULL, body TEXT NOT NULL,
                    PRIMARY KEY (api_group, kind, namespace, name)) WITHOUT ROWID;
                 CREATE INDEX objects_by_namespace ON objects (namespace, api_group, kind);
                 CREATE TABLE events (resource_version INTEGER PRIMARY KEY, type TEXT NOT NULL,
                    api_group TEXT NOT NULL, kind TEXT NOT NULL, namespace TEXT NOT NULL,
                    name TEXT NOT NULL, body TEXT NOT NULL);
                 CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 CREATE TABLE scopes (api_group TEXT NOT NULL, kind TEXT NOT NULL,
                    cluster_scoped INTEGER NOT NULL, PRIMARY KEY (api_group, kind));
                 CREATE TABLE apps (name TEXT PRIMARY KEY, record TEXT NOT NULL);
                 INSERT INTO meta (key, value) VALUES ('resource_version', '7');
                 INSERT INTO objects VALUES ('', 'Namespace', '', 'default', 'n', 1,
                    '{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"default\",\"resourceVersion\":\"1\"}}');
                 PRAGMA user_version = 1;",
            )
            .unwrap();
            conn.execute(
                "INSERT INTO objects VALUES ('', 'ConfigMap', 'default', 'a', 'u', 7, ?1)",
                [body.to_string()],
            )
            .unwrap();
            conn.execute("INSERT INTO apps VALUES ('web', ?1)", [record.to_string()])
                .unwrap();
        }
        let c = LocalCluster::open_file(&path).unwrap();
        let key = ResourceKey::new("", "ConfigMap", "default", "a");
        let inv = Cluster::inventory(&c, "web").unwrap().unwrap();
        assert_eq!(inv.revision.as_deref(), Some("r1"));
        assert_eq!(inv.members.get(&key).map(String::as_str), Some("7"));
        assert_eq!(
            c.last_applied("web", &key).unwrap(),
            Some(json!({"kind": "ConfigMap", "data": {"k": "v"}}))
        );
        let keys: Vec<ResourceKey> = (0..100)
            .map(|i| ResourceKey::new("", "ConfigMap", "default", format!("x{i}")))
            .chain([key.clone()])
            .collect();
        let prints = c.fingerprints(&keys, "web").unwrap();
        assert!(prints[..100].iter().all(Option::is_none));
        assert_eq!(
            prints[100],
            Some(Fingerprint {
                resource_version: Some("7".into()),
                applied_hash: Some("sha256:ab".into()),
                owner: Some("web".into()),
            })
        );
        assert_eq!(c.integrity_check().unwrap(), "ok");
        // Opening again is a no-op.
        drop(c);
        let c = LocalCluster::open_file(&path).unwrap();
        assert_eq!(Cluster::inventory(&c, "web").unwrap().unwrap(), inv);
    }

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_261_595), "2026-11-21T11:46:35Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn create_update_conflict_generation() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = LocalCluster::open(dir.path()).unwrap();
        let mut t = c.begin().unwrap();
        let created = t.create(cm("a", "default", "1")).unwrap();
        t.commit().unwrap();
        let rv1 = created["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(created["metadata"]["generation"], 1);
        assert_eq!(created["metadata"]["uid"].as_str().unwrap().len(), 36);
        // An update with the current resourceVersion works and bumps generation on data change.
        let mut next = created.clone();
        next["data"]["k"] = json!("2");
        let mut t = c.begin().unwrap();
        let updated = t.update(next).unwrap();
        t.commit().unwrap();
        assert_eq!(updated["metadata"]["generation"], 2);
        assert_eq!(updated["metadata"]["uid"], created["metadata"]["uid"]);
        let rv2: u64 = updated["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(rv2 > rv1.parse::<u64>().unwrap());
        // A stale update is a conflict.
        let mut stale = created.clone();
        stale["data"]["k"] = json!("3");
        let mut t = c.begin().unwrap();
        assert!(matches!(
            t.update(stale),
            Err(ClusterError::Conflict { .. })
        ));
        drop(t);
        // A label change does not bump generation; an unchanged update writes nothing.
        let mut labelled = updated.clone();
        labelled["metadata"]["labels"] = json!({"x": "y"});
        let mut t = c.begin().unwrap();
        let l = t.update(labelled).unwrap();
        let same = t.update(l.clone()).unwrap();
        t.commit().unwrap();
        assert_eq!(l["metadata"]["generation"], 2);
        assert_eq!(
            same["metadata"]["resourceVersion"],
            l["metadata"]["resourceVersion"]
        );
    }

    #[test]
    fn namespaces_must_exist_and_scope_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = LocalCluster::open(dir.path()).unwrap();
        let mut t = c.begin().unwrap();
        assert!(matches!(
            t.create(cm("a", "prod", "1")),
            Err(ClusterError::NamespaceNotFound { .. })
        ));
        t.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}}))
            .unwrap();
        t.create(cm("a", "prod", "1")).unwrap();
        assert!(t.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "namespace": "prod"}})).is_err());
        assert!(
            t.create(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "nons"}})
            )
            .is_err()
        );
        t.commit().unwrap();
        // Deleting the namespace deletes what is in it.
        let mut t = c.begin().unwrap();
        t.delete(&ResourceKey::new("", "Namespace", "", "prod"))
            .unwrap();
        t.commit().unwrap();
        assert!(
            c.get(&ResourceKey::new("", "ConfigMap", "prod", "a"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn uncommitted_transactions_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = LocalCluster::open(dir.path()).unwrap();
        let before = c.resource_version().unwrap();
        {
            let mut t = c.begin().unwrap();
            t.create(cm("a", "default", "1")).unwrap();
        }
        assert_eq!(c.resource_version().unwrap(), before);
        assert!(
            c.get(&ResourceKey::new("", "ConfigMap", "default", "a"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn selectors_and_change_feed() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = LocalCluster::open(dir.path()).unwrap();
        let start = c.resource_version().unwrap();
        let mut t = c.begin().unwrap();
        for (i, tier) in ["web", "db", "web"].iter().enumerate() {
            let mut o = cm(&format!("c{i}"), "default", "x");
            o["metadata"]["labels"] = json!({"tier": tier});
            t.create(o).unwrap();
        }
        t.delete(&ResourceKey::new("", "ConfigMap", "default", "c1"))
            .unwrap();
        t.commit().unwrap();
        let sel = Selector::parse("tier=web").unwrap();
        let names: Vec<String> = c
            .list("", "ConfigMap", Some("default"), &sel)
            .unwrap()
            .iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, vec!["c0", "c2"]);
        let events = c.events_since(start, 100).unwrap();
        let kinds: Vec<EventType> = events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            vec![
                EventType::Added,
                EventType::Added,
                EventType::Added,
                EventType::Deleted
            ]
        );
    }

    #[test]
    fn crd_scope_is_learned() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = LocalCluster::open(dir.path()).unwrap();
        let mut t = c.begin().unwrap();
        t.create(json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Cluster", "names": {"kind": "Widget", "plural": "widgets"}}})).unwrap();
        t.create(
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}),
        )
        .unwrap();
        t.commit().unwrap();
        assert!(
            c.get(&ResourceKey::new("example.com", "Widget", "", "w"))
                .unwrap()
                .is_some()
        );
    }
}
