//! A small EDN reader for the tests: enough of EDN to read back the Jepsen histories of `--export-history` (nil, booleans, integers, strings, keywords,
//! symbols, vectors, lists, maps; commas are whitespace, `;` starts a
//! comment). No floats, characters, sets, tags or big numbers: they are
//! refused with an error, never misread.

use std::fmt;

/// One EDN value. Maps keep their entries in the order read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edn {
    Nil,
    Bool(bool),
    Int(i64),
    Str(String),
    /// Without its leading colon: `:type` is `Keyword("type")`.
    Keyword(String),
    Symbol(String),
    Vector(Vec<Edn>),
    List(Vec<Edn>),
    Map(Vec<(Edn, Edn)>),
}

impl Edn {
    /// The value of `key` in a map (the last one, should a key repeat).
    pub fn get(&self, key: &Edn) -> Option<&Edn> {
        match self {
            Edn::Map(entries) => entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value of the keyword `:name` in a map.
    pub fn get_kw(&self, name: &str) -> Option<&Edn> {
        self.get(&Edn::Keyword(name.to_owned()))
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Edn::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_keyword(&self) -> Option<&str> {
        match self {
            Edn::Keyword(k) => Some(k),
            _ => None,
        }
    }
}

/// Where and why reading failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// Byte offset in the input.
    pub at: usize,
    pub what: &'static str,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EDN error at byte {}: {}", self.at, self.what)
    }
}

impl std::error::Error for Error {}

/// Reads exactly one value (surrounded by optional whitespace and comments).
#[allow(dead_code)]
pub fn parse(input: &str) -> Result<Edn, Error> {
    let mut r = Reader {
        s: input.as_bytes(),
        at: 0,
    };
    let v = r.value()?;
    r.skip();
    if r.at != r.s.len() {
        return Err(r.err("trailing input after the value"));
    }
    Ok(v)
}

/// Reads every value of the input, in order (an EDN file of many forms).
pub fn parse_all(input: &str) -> Result<Vec<Edn>, Error> {
    let mut r = Reader {
        s: input.as_bytes(),
        at: 0,
    };
    let mut out = Vec::new();
    loop {
        r.skip();
        if r.at == r.s.len() {
            return Ok(out);
        }
        out.push(r.value()?);
    }
}

struct Reader<'a> {
    s: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn err(&self, what: &'static str) -> Error {
        Error { at: self.at, what }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    /// Skips whitespace, commas and comments.
    fn skip(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() || c == b',' {
                self.at += 1;
            } else if c == b';' {
                while self.peek().is_some_and(|c| c != b'\n') {
                    self.at += 1;
                }
            } else {
                break;
            }
        }
    }

    fn value(&mut self) -> Result<Edn, Error> {
        self.skip();
        match self.peek() {
            None => Err(self.err("expected a value, found the end")),
            Some(b'[') => self.seq(b']').map(Edn::Vector),
            Some(b'(') => self.seq(b')').map(Edn::List),
            Some(b'{') => {
                let items = self.seq(b'}')?;
                if items.len() % 2 != 0 {
                    return Err(self.err("a map needs an even number of forms"));
                }
                let mut it = items.into_iter();
                let mut entries = Vec::new();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    entries.push((k, v));
                }
                Ok(Edn::Map(entries))
            }
            Some(b'"') => self.string(),
            Some(b':') => {
                self.at += 1;
                let name = self.token();
                if name.is_empty() {
                    return Err(self.err("empty keyword"));
                }
                Ok(Edn::Keyword(name))
            }
            Some(b']' | b')' | b'}') => Err(self.err("unbalanced closing bracket")),
            Some(b'#' | b'\\' | b'^' | b'`' | b'~' | b'@' | b'\'') => {
                Err(self.err("unsupported EDN form"))
            }
            Some(_) => self.atom(),
        }
    }

    /// Values up to `close`; the opening bracket is at `self.at`.
    fn seq(&mut self, close: u8) -> Result<Vec<Edn>, Error> {
        self.at += 1;
        let mut items = Vec::new();
        loop {
            self.skip();
            match self.peek() {
                None => return Err(self.err("unclosed collection")),
                Some(c) if c == close => {
                    self.at += 1;
                    return Ok(items);
                }
                Some(_) => items.push(self.value()?),
            }
        }
    }

    fn string(&mut self) -> Result<Edn, Error> {
        self.at += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.err("unclosed string")),
                Some(b'"') => {
                    self.at += 1;
                    return String::from_utf8(out)
                        .map(Edn::Str)
                        .map_err(|_| self.err("string is not UTF-8"));
                }
                Some(b'\\') => {
                    self.at += 1;
                    let c = match self.peek() {
                        Some(b'n') => b'\n',
                        Some(b't') => b'\t',
                        Some(b'r') => b'\r',
                        Some(b'"') => b'"',
                        Some(b'\\') => b'\\',
                        _ => return Err(self.err("unsupported string escape")),
                    };
                    out.push(c);
                    self.at += 1;
                }
                Some(c) => {
                    out.push(c);
                    self.at += 1;
                }
            }
        }
    }

    /// The characters of a symbol, keyword or number.
    fn token(&mut self) -> String {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|c| !(c.is_ascii_whitespace() || b",;()[]{}\"".contains(&c)))
        {
            self.at += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.at]).into_owned()
    }

    fn atom(&mut self) -> Result<Edn, Error> {
        let start = self.at;
        let t = self.token();
        let numeric = t.as_bytes()[0].is_ascii_digit()
            || (t.len() > 1
                && b"+-".contains(&t.as_bytes()[0])
                && t.as_bytes()[1].is_ascii_digit());
        if numeric {
            let digits = t.strip_prefix('+').unwrap_or(&t);
            return digits.parse::<i64>().map(Edn::Int).map_err(|_| Error {
                at: start,
                what: "not an integer that fits in 64 bits",
            });
        }
        Ok(match t.as_str() {
            "nil" => Edn::Nil,
            "true" => Edn::Bool(true),
            "false" => Edn::Bool(false),
            _ => Edn::Symbol(t),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw(s: &str) -> Edn {
        Edn::Keyword(s.to_owned())
    }

    #[test]
    fn reads_a_history_line() {
        let v = parse("{:type :invoke, :f :read, :value nil, :process 0, :time 12, :index -1}")
            .unwrap();
        assert_eq!(v.get_kw("type"), Some(&kw("invoke")));
        assert_eq!(v.get_kw("value"), Some(&Edn::Nil));
        assert_eq!(v.get_kw("index").and_then(Edn::as_int), Some(-1));
        assert_eq!(v.get_kw("missing"), None);
    }

    #[test]
    fn reads_nested_collections_comments_and_strings() {
        let v = parse("; a comment\n[1 +2 (a b) {0 10, 1 20} \"x\\\"y\" true false nil]").unwrap();
        assert_eq!(
            v,
            Edn::Vector(vec![
                Edn::Int(1),
                Edn::Int(2),
                Edn::List(vec![Edn::Symbol("a".into()), Edn::Symbol("b".into())]),
                Edn::Map(vec![
                    (Edn::Int(0), Edn::Int(10)),
                    (Edn::Int(1), Edn::Int(20))
                ]),
                Edn::Str("x\"y".into()),
                Edn::Bool(true),
                Edn::Bool(false),
                Edn::Nil,
            ])
        );
        assert_eq!(
            parse_all("1 2\n:a").unwrap(),
            [Edn::Int(1), Edn::Int(2), kw("a")]
        );
        assert_eq!(parse("-").unwrap(), Edn::Symbol("-".into()));
        assert_eq!(parse("-9223372036854775808").unwrap(), Edn::Int(i64::MIN));
    }

    #[test]
    fn refuses_what_it_does_not_read() {
        for bad in [
            "",
            "{:a}",
            "[1",
            "]",
            "1 2",
            "#{1}",
            "1.5",
            "99999999999999999999",
            "\"open",
            ":",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(parse("[1 ]]").unwrap_err().at, 4);
    }
}
