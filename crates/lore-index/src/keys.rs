//! API keys in the catalog (DESIGN.md §3): random secrets shown once, stored only as a
//! SHA-256 hash, with a role, the collections and domains they may read, a rate quota and
//! an expiry.
//!
//! A key reads `lore_sk_<id>_<secret>`: `id` is 12 hex digits (48 random bits, public,
//! what logs and the admin API show), `secret` is 64 hex digits (256 random bits). Only
//! `sha256(key)` is stored. A plain hash is enough for secrets of this entropy (no
//! dictionary to try); a slow password hash would only cost every request time.
//!
//! The store has its own SQLite connection on the catalog file, so the server checks keys
//! without touching the engine's lock, and `lore keys` works while a server runs. Valid
//! keys are held in memory; any write to the catalog by any process (SQLite's
//! `PRAGMA data_version`) makes the next check reload them, so a revocation takes effect
//! on the next request whether it came over the API or the command line.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use lore_core::{Access, Rate, Role};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{IndexError, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS api_keys (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    hash        TEXT NOT NULL,           -- sha256 of the whole key, hex
    role        TEXT NOT NULL,
    collections TEXT,                    -- JSON array, NULL = all
    domains     TEXT,                    -- JSON array, NULL = all
    rate        TEXT,                    -- e.g. 60/min,1000/h; NULL = the server's default
    created_at  INTEGER NOT NULL,        -- unix seconds
    expires_at  INTEGER,
    revoked_at  INTEGER
);";

/// The prefix of every key.
pub const KEY_PREFIX: &str = "lore_sk_";

/// An API key as stored (never the secret).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ApiKey {
    /// Public id (12 hex digits), shown in logs and listings.
    pub id: String,
    /// A label for people (`team-hr`).
    pub name: String,
    /// What the key may do.
    pub role: Role,
    /// Collections and domains it may read.
    pub access: Access,
    /// Its quota (`60/min,1000/h`); `None` = the server's default per-key quota.
    #[schema(value_type = Option<String>, example = "60/min,1000/h")]
    pub rate: Option<Rate>,
    /// Creation time, unix seconds.
    pub created_at: i64,
    /// Expiry, unix seconds (`None`: never).
    pub expires_at: Option<i64>,
    /// Revocation time, unix seconds.
    pub revoked_at: Option<i64>,
}

/// What a new key gets.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// Label.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Restrictions.
    pub access: Access,
    /// Quota (`None`: the server's default).
    pub rate: Option<Rate>,
    /// Expiry, unix seconds.
    pub expires_at: Option<i64>,
}

/// A request for a new key, as `POST /v1/admin/keys` and `lore keys create` take it.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRequest {
    /// A label for people, e.g. `team-hr` (1-128 characters).
    pub name: String,
    /// reader, writer or admin.
    pub role: Role,
    /// Collections the key may use (default: all).
    pub collections: Option<Vec<String>>,
    /// Domains whose documents the key may see (default: all).
    pub domains: Option<Vec<String>>,
    /// Quota, e.g. `60/min,1000/h` (default: `[rate_limit] per_key`).
    #[schema(value_type = Option<String>, example = "60/min,1000/h")]
    pub rate: Option<Rate>,
    /// Expiry: a duration from now (`30d`, `12h`) or a date/time (`2027-01-31`,
    /// `2027-01-31T18:00:00Z`). Default: never.
    pub expires: Option<String>,
}

/// Why a [`KeyRequest`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRequestError {
    /// The name is empty or over 128 characters.
    #[error("{0}")]
    Name(String),
    /// A collections or domains list is empty or has a bad name.
    #[error("{0}")]
    Access(String),
    /// The expiry is neither a duration nor a date, or is past.
    #[error("{0}")]
    Expiry(String),
}

impl KeyRequest {
    /// Checks the request and turns it into a [`NewKey`] (`now`: unix seconds).
    ///
    /// # Errors
    /// [`KeyRequestError`] naming the bad field.
    pub fn validate(self, now: i64) -> std::result::Result<NewKey, KeyRequestError> {
        let name = self.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 128 {
            return Err(KeyRequestError::Name(
                "name must be 1-128 characters".into(),
            ));
        }
        let list = |what: &str, v: Option<Vec<String>>| match v {
            None => Ok(None),
            Some(v) if v.is_empty() => Err(KeyRequestError::Access(format!(
                "`{what}` is empty: leave it out for all {what}"
            ))),
            Some(v) if v.iter().any(|s| lore_core::check_label(s).is_err()) => {
                Err(KeyRequestError::Access(format!(
                    "`{what}` has an empty, over-long or invisible-character name"
                )))
            }
            Some(v) => Ok(Some(v.into_iter().map(|s| s.trim().to_string()).collect())),
        };
        let expires_at = match self.expires {
            None => None,
            Some(t) => Some(parse_expiry(&t, now).map_err(KeyRequestError::Expiry)?),
        };
        Ok(NewKey {
            name,
            role: self.role,
            access: Access {
                collections: list("collections", self.collections)?,
                domains: list("domains", self.domains)?,
            },
            rate: self.rate,
            expires_at,
        })
    }
}

/// Parses an expiry: a duration from `now` (`30d`, `12h`, `90min`) or an RFC 3339 date or
/// date-time (`2027-01-31`, `2027-01-31T18:00:00Z`); unix seconds.
///
/// # Errors
/// A message naming the text and the accepted forms; a time in the past.
pub fn parse_expiry(text: &str, now: i64) -> std::result::Result<i64, String> {
    let text = text.trim();
    let at = if let Ok(d) = humantime::parse_duration(text) {
        now.saturating_add(d.as_secs() as i64)
    } else {
        let full = if text.len() == 10 {
            format!("{text}T00:00:00Z")
        } else {
            text.to_string()
        };
        let t = humantime::parse_rfc3339_weak(&full).map_err(|_| {
            format!("invalid expiry `{text}`: expected a duration (30d, 12h) or a date (2027-01-31, 2027-01-31T18:00:00Z)")
        })?;
        t.duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    };
    if at <= now {
        return Err(format!("expiry `{text}` is not in the future"));
    }
    Ok(at)
}

/// A key just created: the only time its secret exists outside the caller.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedKey {
    /// The whole key, `lore_sk_<id>_<secret>`. Shown once; lore keeps only its hash.
    pub key: String,
    /// Its record.
    #[serde(flatten)]
    pub record: ApiKey,
}

/// Why a presented key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyRejection {
    /// Not of the `lore_sk_<id>_<secret>` shape.
    #[error("malformed API key")]
    Malformed,
    /// No such key, or the secret does not match.
    #[error("unknown API key")]
    Unknown,
    /// Revoked.
    #[error("API key revoked")]
    Revoked,
    /// Past its expiry.
    #[error("API key expired")]
    Expired,
}

struct Loaded {
    /// `PRAGMA data_version` when `keys` was read.
    version: i64,
    keys: HashMap<String, (String, Arc<ApiKey>)>,
    /// Keys already checked against their hash since the reload, by id: the SHA-256 is
    /// then not recomputed on every request (it was 2.6% of a cached answer's CPU).
    verified: HashMap<String, String>,
}

/// The keys of one catalog.
pub struct KeyStore {
    conn: Mutex<(Connection, Option<Loaded>)>,
}

impl KeyStore {
    /// Opens (creating if needed) the key table of the catalog at `catalog_path`
    /// (`<data dir>/catalog.sqlite`).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn open(catalog_path: &Path) -> Result<Self> {
        let conn = crate::open_side_connection(catalog_path, SCHEMA)?;
        Ok(KeyStore {
            conn: Mutex::new((conn, None)),
        })
    }

    /// Creates a key. Its secret is in the result only.
    ///
    /// # Errors
    /// SQLite errors; [`IndexError::Io`] when the OS has no randomness.
    pub fn create(&self, new: &NewKey, now: i64) -> Result<CreatedKey> {
        let id = hex::encode(random::<6>()?);
        let secret = hex::encode(random::<32>()?);
        let key = format!("{KEY_PREFIX}{id}_{secret}");
        let record = ApiKey {
            id: id.clone(),
            name: new.name.clone(),
            role: new.role,
            access: new.access.clone(),
            rate: new.rate,
            created_at: now,
            expires_at: new.expires_at,
            revoked_at: None,
        };
        let json = |v: &Option<Vec<String>>| v.as_ref().map(|v| serde_json::json!(v).to_string());
        let guard = &mut *self.lock();
        guard.0.execute(
            "INSERT INTO api_keys (id, name, hash, role, collections, domains, rate, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                id,
                new.name,
                hash(&key),
                new.role.as_str(),
                json(&new.access.collections),
                json(&new.access.domains),
                new.rate.map(|r| r.to_string()),
                now,
                new.expires_at
            ],
        )?;
        guard.1 = None;
        Ok(CreatedKey { key, record })
    }

    /// Every key, newest first (revoked and expired ones included).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn list(&self) -> Result<Vec<ApiKey>> {
        let guard = self.lock();
        let mut out: Vec<ApiKey> = read_all(&guard.0)?
            .into_values()
            .map(|(_, k)| k.as_ref().clone())
            .collect();
        out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// Whether any key that is neither revoked nor expired exists.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn any_usable(&self, now: i64) -> Result<bool> {
        Ok(self
            .list()?
            .iter()
            .any(|k| k.revoked_at.is_none() && k.expires_at.is_none_or(|e| e > now)))
    }

    /// Revokes key `id`; `Ok(false)` when there is no such key. Takes effect on the next
    /// request.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn revoke(&self, id: &str, now: i64) -> Result<bool> {
        let guard = &mut *self.lock();
        let exists: Option<i64> = guard
            .0
            .query_row("SELECT 1 FROM api_keys WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        guard.0.execute(
            "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, now],
        )?;
        guard.1 = None;
        Ok(exists.is_some())
    }

    /// The record of a presented key, if it is valid at `now` (unix seconds).
    ///
    /// # Errors
    /// [`KeyRejection`] for a bad, unknown, revoked or expired key. A catalog failure is
    /// reported as `Unknown` (and logged): a key that cannot be checked is not accepted.
    pub fn verify(
        &self,
        presented: &str,
        now: i64,
    ) -> std::result::Result<Arc<ApiKey>, KeyRejection> {
        let id = parse_id(presented).ok_or(KeyRejection::Malformed)?;
        let key = {
            let guard = &mut *self.lock();
            let (conn, loaded) = (&guard.0, &mut guard.1);
            let version: i64 = conn
                .prepare_cached("PRAGMA data_version")
                .and_then(|mut s| s.query_row([], |r| r.get(0)))
                .map_err(|e| {
                    tracing::error!(error = %e, "reading API keys");
                    KeyRejection::Unknown
                })?;
            if loaded.as_ref().is_none_or(|l| l.version != version) {
                let keys = read_all(conn).map_err(|e| {
                    tracing::error!(error = %e, "reading API keys");
                    KeyRejection::Unknown
                })?;
                *loaded = Some(Loaded {
                    version,
                    keys,
                    verified: HashMap::new(),
                });
            }
            let Some(l) = loaded.as_mut() else {
                return Err(KeyRejection::Unknown);
            };
            let (stored, key) = l.keys.get(id).cloned().ok_or(KeyRejection::Unknown)?;
            let known = l
                .verified
                .get(id)
                .is_some_and(|k| constant_time_eq(k.as_bytes(), presented.as_bytes()));
            if !known {
                if !constant_time_eq(stored.as_bytes(), hash(presented).as_bytes()) {
                    return Err(KeyRejection::Unknown);
                }
                l.verified.insert(id.to_string(), presented.to_string());
            }
            key
        };
        if key.revoked_at.is_some() {
            return Err(KeyRejection::Revoked);
        }
        if key.expires_at.is_some_and(|e| e <= now) {
            return Err(KeyRejection::Expired);
        }
        Ok(key)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Connection, Option<Loaded>)> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The public id inside a key, if it has the key's shape.
pub fn parse_id(presented: &str) -> Option<&str> {
    let rest = presented.strip_prefix(KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(id, 12) && hex(secret, 64)).then_some(id)
}

fn read_all(conn: &Connection) -> Result<HashMap<String, (String, Arc<ApiKey>)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, hash, role, collections, domains, rate, created_at, expires_at, revoked_at
         FROM api_keys",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, Option<String>>(6)?,
            r.get::<_, i64>(7)?,
            r.get::<_, Option<i64>>(8)?,
            r.get::<_, Option<i64>>(9)?,
        ))
    })?;
    let mut out = HashMap::new();
    for row in rows {
        let (id, name, hash, role, collections, domains, rate, created_at, expires_at, revoked_at) =
            row?;
        // A row this build cannot read (edited by hand) is skipped, never widened.
        let list = |v: Option<String>| -> Option<Option<Vec<String>>> {
            match v {
                None => Some(None),
                Some(t) => serde_json::from_str(&t).ok().map(Some),
            }
        };
        let (Ok(role), Some(collections), Some(domains)) =
            (role.parse::<Role>(), list(collections), list(domains))
        else {
            tracing::warn!(%id, "API key row unreadable: key refused");
            continue;
        };
        let rate = match rate.map(|r| r.parse::<Rate>()) {
            None => None,
            Some(Ok(r)) => Some(r),
            Some(Err(_)) => {
                tracing::warn!(%id, "API key rate unreadable: key refused");
                continue;
            }
        };
        let key = ApiKey {
            id: id.clone(),
            name,
            role,
            access: Access {
                collections,
                domains,
            },
            rate,
            created_at,
            expires_at,
            revoked_at,
        };
        out.insert(id, (hash, Arc::new(key)));
    }
    Ok(out)
}

fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Compares without an early exit, so timing does not tell how much of a hash matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| {
        IndexError::io(
            "reading OS randomness",
            std::io::Error::other(e.to_string()),
        )
    })?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(role: Role) -> NewKey {
        NewKey {
            name: "t".into(),
            role,
            access: Access {
                collections: None,
                domains: Some(vec!["hr".into()]),
            },
            rate: Some("5/min".parse().unwrap()),
            expires_at: Some(2_000),
        }
    }

    #[test]
    fn keys_verify_revoke_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.sqlite");
        let store = KeyStore::open(&path).unwrap();
        let created = store.create(&new(Role::Reader), 1_000).unwrap();
        assert!(created.key.starts_with(KEY_PREFIX) && created.key.len() == 8 + 12 + 1 + 64);
        let raw: String = Connection::open(&path)
            .unwrap()
            .query_row(
                "SELECT group_concat(hash || name || role) FROM api_keys",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(
            !raw.contains(&created.key[21..]),
            "the secret is not stored"
        );
        let k = store.verify(&created.key, 1_500).unwrap();
        assert_eq!(
            (k.role, k.access.domains.clone()),
            (Role::Reader, Some(vec!["hr".into()]))
        );
        assert_eq!(
            store.verify(&created.key, 2_000),
            Err(KeyRejection::Expired)
        );
        let mut wrong = created.key.clone();
        wrong.pop();
        wrong.push(if created.key.ends_with('0') { '1' } else { '0' });
        assert_eq!(store.verify(&wrong, 1_500), Err(KeyRejection::Unknown));
        assert_eq!(
            store.verify("Bearer x", 1_500),
            Err(KeyRejection::Malformed)
        );

        // A revocation by another connection (the CLI beside a server) is seen at once.
        let other = KeyStore::open(&path).unwrap();
        assert!(other.revoke(&created.record.id, 1_600).unwrap());
        assert_eq!(
            store.verify(&created.key, 1_700),
            Err(KeyRejection::Revoked)
        );
        assert!(!other.revoke("000000000000", 1_600).unwrap());
        assert!(!store.any_usable(1_700).unwrap());
        let admin = store.create(&new(Role::Admin), 1_800).unwrap();
        assert!(store.any_usable(1_900).unwrap());
        assert_eq!(store.list().unwrap()[0].id, admin.record.id);
    }
}
