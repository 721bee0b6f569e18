//! The PostgreSQL backend: the accounts are rows of a table in a private schema, each worker applies its operations as statements on its own connection.
//!
//! - `host.rs`: the server binaries, the account it runs as, its start, the
//!   removal of dead runs' directories;
//! - `server.rs`: the embedded server of `--db embedded`;
//! - `template.rs`: the cache of initialised clusters it copies;
//! - `connect.rs`: connection strings, connections, the run's schema;
//! - `pgpass.rs`: the password file;
//! - `worker.rs`: the strategies as statements, with bounded retries;
//! - `transfer.rs`: transfers and audits on several rows.
//!
//! The coordinator opens a [`Session`] for the run: it starts the embedded
//! server if asked, creates the schema, and hands workers the connection
//! string and schema through their environment (never their command line).
//! Dropping the session drops the schema and stops the server, also when the
//! run ends by an error or a signal.

mod connect;
mod host;
mod pgpass;
mod server;
mod statements;
mod template;
mod transfer;
mod worker;

pub(crate) use host::{Account, become_server};
pub(crate) use worker::Postgres;

use std::io;

use anyhow::{Context, Result};
use postgres::Client;

use crate::backend::{Accounts, DbTarget};
use crate::ledger::Ledger;

/// The environment variable that hands workers the connection string.
pub(crate) const CONNINFO_ENV: &str = "BANKRACE_DB_CONNINFO";
/// The environment variable that hands workers the run's schema.
pub(crate) const SCHEMA_ENV: &str = "BANKRACE_DB_SCHEMA";

/// A run's database: the embedded server if any, the coordinator's own
/// connection, and the run's schema.
pub(crate) struct Session {
    client: Client,
    schema: String,
    conninfo: String,
    /// Dropped after the schema, so that the server is there to drop it.
    embedded: Option<server::Embedded>,
}

impl Session {
    /// Starts the embedded server or connects to `target`, then creates the
    /// run's schema.
    pub fn open(target: &DbTarget) -> Result<Session> {
        let (embedded, conninfo) = match target {
            DbTarget::Embedded => {
                let server = server::Embedded::start()?;
                let conninfo = server.conninfo();
                (Some(server), conninfo)
            }
            DbTarget::Url(url) => (None, url.clone()),
        };
        let config = connect::parse(&conninfo).map_err(anyhow::Error::msg)?;
        let mut client = connect::connect(&config, &conninfo).map_err(anyhow::Error::msg)?;
        let schema = connect::create_schema(&mut client).map_err(anyhow::Error::msg)?;
        Ok(Session {
            client,
            schema,
            conninfo,
            embedded,
        })
    }
}

impl Accounts for Session {
    fn prepare(&mut self, ledger: &Ledger) -> io::Result<()> {
        let job = ledger.job();
        let accounts = job.accounts as i32;
        let sql = format!(
            "INSERT INTO {}.accounts (id, balance) SELECT g, $2 FROM generate_series(0, $1 - 1) g \
             ON CONFLICT (id) DO UPDATE SET balance = EXCLUDED.balance",
            self.schema
        );
        self.client
            .execute(&sql, &[&accounts, &job.initial])
            .map(drop)
            .map_err(|e| io::Error::other(connect::message(&e)))
    }

    fn balances(&mut self, ledger: &Ledger) -> io::Result<Vec<i64>> {
        let sql = format!(
            "SELECT balance FROM {}.accounts WHERE id < $1 ORDER BY id",
            self.schema
        );
        let rows = self
            .client
            .query(&sql, &[&(ledger.job().accounts as i32)])
            .map_err(|e| io::Error::other(connect::message(&e)))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn server_version(&mut self) -> io::Result<Option<String>> {
        let row = self
            .client
            .query_one("SHOW server_version", &[])
            .map_err(|e| io::Error::other(connect::message(&e)))?;
        Ok(Some(row.get(0)))
    }

    fn worker_env(&self) -> Vec<(&'static str, String)> {
        vec![
            (CONNINFO_ENV, self.conninfo.clone()),
            (SCHEMA_ENV, self.schema.clone()),
        ]
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Err(e) = connect::drop_schema(&mut self.client, &self.schema) {
            // An embedded server takes the schema with its directory.
            if self.embedded.is_none() {
                eprintln!("bankrace: {e}");
            }
        }
    }
}

/// A worker's connection, from what its environment says.
pub(crate) fn worker(job: &crate::spec::Job) -> Result<Postgres> {
    let conninfo = std::env::var(CONNINFO_ENV)
        .with_context(|| format!("no connection string in {CONNINFO_ENV}"))?;
    let schema = std::env::var(SCHEMA_ENV).with_context(|| format!("no schema in {SCHEMA_ENV}"))?;
    Postgres::connect(&conninfo, &schema, job).map_err(anyhow::Error::msg)
}

/// `bankrace db-cleanup`: removes the directories of dead embedded servers
/// in `tmp`, the cached template clusters (and the cache directory, once
/// empty, if bankrace chose it) and, given a connection string, drops the
/// schemas of dead runs of this machine there. Returns one line per thing removed.
pub(crate) fn cleanup(tmp: &std::path::Path, target: Option<&DbTarget>) -> Result<Vec<String>> {
    let mut removed = host::remove_dead_dirs(tmp);
    if let Some(cache) = template::cache_dir() {
        removed.extend(template::remove_all(&cache));
        removed.extend(template::remove_own_if_empty(&cache));
    }
    let mut lines: Vec<String> = removed
        .into_iter()
        .map(|d| format!("removed {}", d.display()))
        .collect();
    if let Some(DbTarget::Url(url)) = target {
        let config = connect::parse(url).map_err(anyhow::Error::msg)?;
        let mut client = connect::connect(&config, url).map_err(anyhow::Error::msg)?;
        for schema in connect::drop_dead_schemas(&mut client).map_err(anyhow::Error::msg)? {
            lines.push(format!("dropped schema {schema}"));
        }
    }
    Ok(lines)
}
