//! What `--db` names: a throwaway embedded server, or a connection string kept secret; and [`redact`], which every shown form of a connection string goes through. Pure, and built with or without the database backend.

use std::fmt;

use serde::{Serialize, Serializer};

/// The value of `--db` that starts a throwaway server for the run.
pub(crate) const EMBEDDED: &str = "embedded";

/// Where a run's database is.
#[derive(Clone, PartialEq, Eq)]
pub enum DbTarget {
    /// A server bankrace starts for the run and removes afterwards.
    Embedded,
    /// A libpq URL or key/value connection string. It may hold a password:
    /// it is shown, serialized and debugged only through [`redact`].
    Url(String),
}

impl DbTarget {
    /// `embedded`, or anything else as a connection string.
    pub fn parse(text: &str) -> Result<DbTarget, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("--db needs `embedded` or a connection string \
                 (postgresql://user@host/db or host=... dbname=...)"
                .into());
        }
        Ok(if text == EMBEDDED {
            DbTarget::Embedded
        } else {
            DbTarget::Url(text.to_string())
        })
    }

    /// What reports show: `embedded`, or the connection string without its
    /// password.
    pub fn shown(&self) -> String {
        match self {
            DbTarget::Embedded => EMBEDDED.to_string(),
            DbTarget::Url(url) => redact(url),
        }
    }
}

impl fmt::Debug for DbTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

impl Serialize for DbTarget {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.shown())
    }
}

/// A connection string without any password: the `user:password@` of a URL
/// loses its password, a `password=` query parameter or key/value pair is
/// dropped. A key/value string that cannot be parsed and mentions a password
/// is replaced whole.
pub fn redact(target: &str) -> String {
    let t = target.trim();
    for scheme in ["postgresql://", "postgres://"] {
        if t.len() >= scheme.len()
            && t.is_char_boundary(scheme.len())
            && t[..scheme.len()].eq_ignore_ascii_case(scheme)
        {
            return redact_url(&t[..scheme.len()], &t[scheme.len()..]);
        }
    }
    redact_key_values(t)
}

fn redact_url(scheme: &str, rest: &str) -> String {
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    // The last '@' ends the user information, even if an unencoded '@'
    // appears in the password.
    let authority = match authority.rfind('@') {
        Some(at) => {
            let user = authority[..at].split(':').next().unwrap_or("");
            if user.is_empty() {
                authority[at + 1..].to_string()
            } else {
                format!("{user}@{}", &authority[at + 1..])
            }
        }
        None => authority.to_string(),
    };
    let (before_fragment, fragment) = tail.split_at(tail.find('#').unwrap_or(tail.len()));
    let tail = match before_fragment.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|pair| {
                    let key = pair.split('=').next().unwrap_or("");
                    !key.is_empty() && !key.eq_ignore_ascii_case("password")
                })
                .collect();
            if kept.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{}", kept.join("&"))
            }
        }
        None => before_fragment.to_string(),
    };
    format!("{scheme}{authority}{tail}{fragment}")
}

/// Splits a libpq key/value string into (key, the pair's raw text), or
/// `None` if it is not one.
fn key_values(s: &str) -> Option<Vec<(&str, &str)>> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let skip_spaces = |i: &mut usize| {
        while *i < b.len() && b[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    loop {
        skip_spaces(&mut i);
        if i >= b.len() {
            return Some(out);
        }
        let start = i;
        while i < b.len() && b[i] != b'=' && !b[i].is_ascii_whitespace() {
            i += 1;
        }
        let key = &s[start..i];
        skip_spaces(&mut i);
        if i >= b.len() || b[i] != b'=' || key.is_empty() {
            return None;
        }
        i += 1;
        skip_spaces(&mut i);
        if i < b.len() && b[i] == b'\'' {
            i += 1;
            loop {
                match b.get(i) {
                    None => return None,
                    Some(b'\\') => i += 2,
                    Some(b'\'') => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
        } else {
            while i < b.len() && !b[i].is_ascii_whitespace() {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
        }
        let end = i.min(b.len());
        if !s.is_char_boundary(end) {
            return None;
        }
        out.push((key, &s[start..end]));
    }
}

fn redact_key_values(s: &str) -> String {
    match key_values(s) {
        Some(pairs) => pairs
            .into_iter()
            .filter(|(key, _)| !key.eq_ignore_ascii_case("password"))
            .map(|(_, raw)| raw)
            .collect::<Vec<_>>()
            .join(" "),
        None if s.to_ascii_lowercase().contains("password") => {
            "<connection string not shown: it has a password>".into()
        }
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_passwords() {
        for (url, shown) in [
            (
                "postgresql://alice:s3cret@db.example:5432/bank",
                "postgresql://alice@db.example:5432/bank",
            ),
            (
                "postgres://alice:p%40ss@h/db?sslmode=require",
                "postgres://alice@h/db?sslmode=require",
            ),
            (
                "postgres://alice@h/db?password=x&sslmode=require",
                "postgres://alice@h/db?sslmode=require",
            ),
            ("postgres://h/db?PASSWORD=x", "postgres://h/db"),
            ("postgres://:pw@h", "postgres://h"),
            (
                "POSTGRES://bob:pw@h1,h2:5433/db",
                "POSTGRES://bob@h1,h2:5433/db",
            ),
            ("postgres://bob:p@ss@h/db", "postgres://bob@h/db"),
            ("postgresql://%2Frun%2Fpg/db", "postgresql://%2Frun%2Fpg/db"),
        ] {
            assert_eq!(redact(url), shown, "{url}");
        }
    }

    #[test]
    fn key_value_strings_lose_their_passwords() {
        assert_eq!(
            redact("host=h user=bob password=secret dbname=x"),
            "host=h user=bob dbname=x"
        );
        assert_eq!(
            redact("host=h password = 'it\\'s a secret' port=1"),
            "host=h port=1"
        );
        assert_eq!(redact("password='a b c' host=h"), "host=h");
        assert_eq!(redact("host=h PassWord=x"), "host=h");
        assert_eq!(redact("host=/tmp/x port=5432"), "host=/tmp/x port=5432");
        assert!(!redact("host=h password='unterminated").contains("unterminated"));
        for s in [
            "host=h password=hunter2",
            "postgres://u:hunter2@h/d",
            "postgres://u@h/d?password=hunter2",
            "password=hunter2 bogus",
        ] {
            assert!(!redact(s).contains("hunter2"), "{s}");
        }
    }

    #[test]
    fn a_target_shows_and_serializes_without_its_password() {
        let t = DbTarget::parse("postgres://u:hunter2@h/d").unwrap();
        assert_eq!(t.shown(), "postgres://u@h/d");
        assert!(!format!("{t:?}").contains("hunter2"));
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"postgres://u@h/d\"");
        assert_eq!(DbTarget::parse(" embedded "), Ok(DbTarget::Embedded));
        assert!(DbTarget::parse("  ").is_err());
    }
}
