//! The password file libpq users keep (`~/.pgpass`, or `PGPASSFILE`): the first line matching host, port, database and user gives the password. The client crate does not read it, so bankrace does.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use postgres::Config;
use postgres::config::Host;

/// The password for `config` from the password file, if one matches. A file
/// that others may read is ignored, as libpq ignores it.
pub(crate) fn lookup(config: &Config) -> Option<Vec<u8>> {
    let path = std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pgpass")))?;
    let meta = std::fs::metadata(&path).ok()?;
    if !meta.is_file() || meta.permissions().mode() & 0o077 != 0 {
        return None;
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        // libpq matches a socket directory as `localhost`.
        _ => "localhost".to_string(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config
        .get_user()
        .map(str::to_string)
        .or_else(|| std::env::var("USER").ok())?;
    let db = config.get_dbname().unwrap_or(&user).to_string();
    find(&text, [&host, &port, &db, &user]).map(String::into_bytes)
}

/// The password of the first line whose four fields match `wanted` (each
/// field may be `*`), with `\:` and `\\` unescaped.
fn find(text: &str, wanted: [&str; 4]) -> Option<String> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .find_map(|line| {
            let fields = split(line);
            if fields.len() != 5 {
                return None;
            }
            let matches = fields[..4]
                .iter()
                .zip(wanted)
                .all(|(f, w)| f == "*" || f == w);
            matches.then(|| fields[4].clone())
        })
}

/// A line's fields, split at unescaped colons.
fn split(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut().expect("never empty").extend(chars.next()),
            ':' => fields.push(String::new()),
            c => fields.last_mut().expect("never empty").push(c),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_matching_line_wins_and_escapes_are_undone() {
        let file = "# comment\n\
                    db.example:5432:bank:alice:first\n\
                    *:*:*:bob:p\\:w\\\\d\n\
                    *:*:*:*:fallback\n";
        let get = |w: [&str; 4]| find(file, w);
        assert_eq!(
            get(["db.example", "5432", "bank", "alice"]).as_deref(),
            Some("first")
        );
        assert_eq!(
            get(["localhost", "5433", "x", "bob"]).as_deref(),
            Some("p:w\\d")
        );
        assert_eq!(
            get(["other", "5432", "bank", "alice"]).as_deref(),
            Some("fallback")
        );
        assert_eq!(find("h:1:d:u\n", ["h", "1", "d", "u"]), None);
    }
}
