//! Connections and the run's private schema: a connection string parsed with libpq's password sources, TLS when it asks for it, one line per connection error (never a password), and schemas created, dropped and cleaned up after dead runs.

use std::str::FromStr;
use std::time::Duration;

use postgres::config::SslMode;
use postgres::error::SqlState;
use postgres::{Client, Config};

use super::host;
use crate::backend::target::redact;

/// The connect timeout when the connection string sets none.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Every run's schema is named `bankrace_<pid>_<8 hex digits>`.
const SCHEMA_PREFIX: &str = "bankrace_";

/// A connection string as a config: the default connect timeout added and,
/// as libpq does, the password taken from `PGPASSWORD` or the password file
/// when the string has none. Errors name the string without its password.
pub(crate) fn parse(target: &str) -> Result<Config, String> {
    let mut config = Config::from_str(target).map_err(|e| {
        // The parser's message names the bad option, never its value.
        format!("invalid connection string {}: {e}", redact(target))
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_password().is_none() {
        if let Some(pw) = std::env::var_os("PGPASSWORD").filter(|p| !p.is_empty()) {
            use std::os::unix::ffi::OsStrExt;
            config.password(pw.as_bytes());
        } else if let Some(pw) = super::pgpass::lookup(&config) {
            config.password(pw);
        }
    }
    Ok(config)
}

/// Connects, with TLS unless the string says `sslmode=disable`.
/// `sslmode=require` has libpq's meaning: encrypted, the server's
/// certificate not verified.
pub(crate) fn connect(config: &Config, target: &str) -> Result<Client, String> {
    let result = match config.get_ssl_mode() {
        SslMode::Disable => config.connect(postgres::NoTls),
        _ => {
            let tls = native_tls::TlsConnector::builder()
                .danger_accept_invalid_certs(true)
                .danger_accept_invalid_hostnames(true)
                .build()
                .map_err(|e| format!("cannot set up TLS: {e}"))?;
            config.connect(postgres_native_tls::MakeTlsConnector::new(tls))
        }
    };
    result.map_err(|e| describe(&e, config, target))
}

/// One line per cause, saying what is needed.
fn describe(e: &postgres::Error, config: &Config, target: &str) -> String {
    let user = config.get_user().unwrap_or("(default user)");
    let db = config.get_dbname().unwrap_or(user);
    let at = redact(target);
    match e.code() {
        Some(c) if *c == SqlState::INVALID_PASSWORD => format!(
            "password authentication failed for user `{user}` at {at}: give the right password \
             (in the connection string, PGPASSWORD or ~/.pgpass)"
        ),
        Some(c) if *c == SqlState::INVALID_CATALOG_NAME => {
            format!("database `{db}` does not exist at {at}: create it or name another one")
        }
        Some(_) => format!("the server at {at} refused the connection: {}", message(e)),
        None => {
            let detail =
                std::error::Error::source(e).map_or_else(|| e.to_string(), |s| s.to_string());
            format!("cannot reach the PostgreSQL server at {at}: {detail}")
        }
    }
}

/// The server's own message for an error, or the client's.
pub(crate) fn message(e: &postgres::Error) -> String {
    e.as_db_error()
        .map_or_else(|| e.to_string(), |d| d.message().to_string())
}

/// Whether `name` is a plain lower-case identifier, safe to splice into SQL.
fn plain(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 64
        && !name.as_bytes()[0].is_ascii_digit()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `bankrace_<pid>_<8 hex digits>`.
fn new_schema_name(pid: u32) -> String {
    format!("{SCHEMA_PREFIX}{pid}_{:08x}", rand::random::<u32>())
}

/// The pid a run's schema name carries.
fn schema_pid(name: &str) -> Option<u32> {
    let (pid, tail) = name.strip_prefix(SCHEMA_PREFIX)?.split_once('_')?;
    (tail.len() == 8 && tail.bytes().all(|b| b.is_ascii_hexdigit())).then_some(())?;
    pid.parse().ok()
}

/// Creates this run's schema with its `accounts` table, commented with this
/// machine's name so that a cleanup elsewhere leaves it alone.
pub(crate) fn create_schema(client: &mut Client) -> Result<String, String> {
    let pid = std::process::id();
    let name = new_schema_name(pid);
    let host: String = host::hostname()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-._".contains(*c))
        .collect();
    client
        .batch_execute(&format!(
            "CREATE SCHEMA {name};
             CREATE TABLE {name}.accounts (id int PRIMARY KEY, balance bigint NOT NULL);
             COMMENT ON SCHEMA {name} IS 'bankrace run host={host} pid={pid}';"
        ))
        .map_err(|e| match e.code() {
            Some(c) if *c == SqlState::INSUFFICIENT_PRIVILEGE => {
                "no right to create a schema in this database: GRANT CREATE ON DATABASE <db> \
                 TO <user>, or name a database the user owns"
                    .to_string()
            }
            _ => format!("cannot create the run's schema: {}", message(&e)),
        })?;
    Ok(name)
}

/// Drops a run's schema and everything in it.
pub(crate) fn drop_schema(client: &mut Client, name: &str) -> Result<(), String> {
    if !plain(name) {
        return Err(format!("not a run's schema: {name:?}"));
    }
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
        .map_err(|e| format!("cannot drop schema {name}: {}", message(&e)))
}

/// Drops the schemas of dead runs of this machine (made by a pid that no
/// longer exists); those of other machines are left alone. Returns them.
pub(crate) fn drop_dead_schemas(client: &mut Client) -> Result<Vec<String>, String> {
    let rows = client
        .query(
            "SELECT nspname::text, obj_description(oid, 'pg_namespace') FROM pg_namespace \
             WHERE nspname LIKE 'bankrace\\_%' ORDER BY 1",
            &[],
        )
        .map_err(|e| format!("cannot list schemas: {}", message(&e)))?;
    let me = format!("host={} ", host::hostname());
    let mut dropped = Vec::new();
    for row in rows {
        let name: String = row.get(0);
        let comment: Option<String> = row.get(1);
        let ours = comment.is_some_and(|c| c.contains(&me));
        match schema_pid(&name) {
            Some(pid) if ours && !host::alive(pid) => {
                drop_schema(client, &name)?;
                dropped.push(name);
            }
            _ => {}
        }
    }
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_do_not_show_the_password() {
        let e = parse("postgres://u:hunter2@h:notaport/db").unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
        let e = parse("host=h password=hunter2 bogus").unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn a_connect_timeout_is_always_set() {
        let c = parse("host=/tmp user=x").unwrap();
        assert_eq!(c.get_connect_timeout(), Some(&CONNECT_TIMEOUT));
        let c = parse("host=/tmp user=x connect_timeout=2").unwrap();
        assert_eq!(c.get_connect_timeout(), Some(&Duration::from_secs(2)));
    }

    #[test]
    fn schema_names_carry_the_pid_and_are_plain() {
        let n = new_schema_name(4242);
        assert!(n.starts_with("bankrace_4242_") && n.len() == "bankrace_4242_".len() + 8);
        assert!(plain(&n));
        assert_eq!(schema_pid(&n), Some(4242));
        assert_eq!(schema_pid("bankrace_x_00000000"), None);
        assert_eq!(schema_pid("public"), None);
        for bad in ["", "1abc", "a;drop", "A", "a b", "a\"b"] {
            assert!(!plain(bad), "{bad}");
        }
    }
}
