//! Parsing and printing the short durations the CLI takes (`10ms`, `50us`, `1.5s`).

use std::fmt::Write as _;
use std::time::Duration;

/// Parses `0`, or a number followed by a unit: `ns`, `us` (or `µs`), `ms`, `s`.
/// Fractions are allowed (`1.5ms`); anything below a nanosecond is dropped.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.starts_with('-') {
        return Err(format!("'{text}' is negative: a duration is 0 or more"));
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("'{text}' has no unit: write e.g. 10ms, 50us or 1s"))?;
    let (number, unit) = text.split_at(split);
    let nanos_per_unit: f64 = match unit {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        _ => {
            return Err(format!(
                "'{text}' has an unknown unit '{unit}': use ns, us, ms or s"
            ));
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a number followed by a unit, e.g. 10ms"))?;
    let nanos = value * nanos_per_unit;
    // The longest duration any option takes (--timeout's bound); far below
    // 2^53 ns, so the f64 stays exact.
    let most = crate::limits::MAX_TIMEOUT;
    if !(0.0..=most.as_nanos() as f64).contains(&nanos) {
        return Err(format!(
            "'{text}' is out of range (at most {})",
            format(most)
        ));
    }
    Ok(Duration::from_nanos(nanos as u64))
}

/// Prints a duration the way [`parse`] reads it, in the largest unit that
/// keeps it exact: `10ms`, `50us`, `1500us`, `0`.
pub fn format(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return "0".to_string();
    }
    let mut out = String::new();
    let (value, unit) = [(1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "us")]
        .into_iter()
        .find(|(div, _)| ns.is_multiple_of(*div))
        .map_or((ns, "ns"), |(div, unit)| (ns / div, unit));
    let _ = write!(out, "{value}{unit}");
    out
}

/// Prints a measured duration with three significant figures: `14.2ms`, `812us`.
pub(crate) fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    let (value, unit) = if s >= 1.0 {
        (s, "s")
    } else if s >= 1e-3 {
        (s * 1e3, "ms")
    } else {
        (s * 1e6, "us")
    };
    let digits = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.digits$}{unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_fractions() {
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse("10ms"), Ok(Duration::from_millis(10)));
        assert_eq!(parse("50us"), Ok(Duration::from_micros(50)));
        assert_eq!(parse("50µs"), Ok(Duration::from_micros(50)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("250ns"), Ok(Duration::from_nanos(250)));
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        for bad in [
            "",
            "10",
            "ms",
            "10 parsecs",
            "1.2.3ms",
            "-5ms",
            "2h",
            "99999s",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn format_round_trips() {
        for text in ["0", "10ms", "50us", "1500us", "3s", "7ns"] {
            assert_eq!(format(parse(text).unwrap()), text);
        }
    }

    #[test]
    fn human_keeps_three_figures() {
        assert_eq!(human(Duration::from_micros(14_234)), "14.2ms");
        assert_eq!(human(Duration::from_micros(812)), "812us");
        assert_eq!(human(Duration::from_millis(2_500)), "2.50s");
    }
}
