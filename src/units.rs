//! Human units in commands and config: ages (`30d`, `1d12h`) and sizes (`10M`, binary units).

use std::time::Duration;

/// A unit problem, shown to the admin as one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum UnitError {
    #[error(
        "{0:?} is not an age; use a number and a unit, e.g. 30d, 12h, 2w, 90m or 1d12h (s, m = minutes, h, d, w, y)"
    )]
    BadAge(String),
    #[error("{0:?} is not a size; use a number and K, M or G (binary: 1K = 1024 bytes), e.g. 10M")]
    BadSize(String),
}

/// Parses an age such as `30d`, `12h`, `2w`, `90m`, `1y` or `1d12h`. Only s, m (minutes), h, d, w and
/// y are accepted: humantime alone would also take `M` (months) and `ms`, which are too easy to mistype.
pub(crate) fn parse_age(text: &str) -> Result<Duration, UnitError> {
    let bad = || UnitError::BadAge(text.to_owned());
    let t = text.trim();
    if t.is_empty() || t.len() > 40 {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    let mut digits = String::new();
    let mut saw_unit = false;
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let secs: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            'y' => 365 * 86_400 + 21_600, // humantime's year: 365.25 days
            _ => return Err(bad()),
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        let part = n.checked_mul(secs).ok_or_else(bad)?;
        total = total
            .checked_add(Duration::from_secs(part))
            .ok_or_else(bad)?;
        saw_unit = true;
    }
    if !digits.is_empty()
        || !saw_unit
        || total.is_zero()
        || total > Duration::from_secs(100 * 365 * 86_400)
    {
        return Err(bad());
    }
    Ok(total)
}

/// Renders an age in the units it is typed in, e.g. `1d12h`, `90m` → `1h30m`, `30s`.
pub(crate) fn format_age(d: Duration) -> String {
    let mut left = d.as_secs();
    if left == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, secs) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if left >= secs {
            out.push_str(&format!("{}{unit}", left / secs));
            left %= secs;
        }
    }
    out
}

/// Parses a size with an optional binary unit: `512`, `10K`, `10M`, `1G`, `10MiB`, `10MB` (all binary).
pub(crate) fn parse_size(text: &str) -> Result<u64, UnitError> {
    let bad = || UnitError::BadSize(text.to_owned());
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| bad())?;
    let mult: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => return Err(bad()),
    };
    n.checked_mul(mult).ok_or_else(bad)
}

/// Renders bytes for people: `1.5 MiB`.
pub(crate) fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        let h = 3600;
        let d = 24 * h;
        let ok: &[(&str, u64)] = &[
            ("30d", 30 * d),
            ("12h", 12 * h),
            ("2w", 14 * d),
            ("90m", 90 * 60),
            ("1d12h", d + 12 * h),
            ("30s", 30),
            ("1y", 365 * d + 6 * h),
        ];
        for (text, secs) in ok {
            assert_eq!(parse_age(text), Ok(Duration::from_secs(*secs)), "{text}");
        }
        for bad in [
            "",
            "30",
            "d",
            "30x",
            "3 0d",
            "30M",
            "1ms",
            "-5d",
            "0d",
            "99999999999999999999d",
            "1000y",
            "30d5",
        ] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes() {
        let ok: &[(&str, u64)] = &[
            ("512", 512),
            ("10K", 10240),
            ("10M", 10 << 20),
            ("1G", 1 << 30),
            ("10MiB", 10 << 20),
            ("3m", 3 << 20),
        ];
        for (text, n) in ok {
            assert_eq!(parse_size(text), Ok(*n), "{text}");
        }
        for bad in ["", "M", "10T", "1.5M", "-1K", "99999999999999999999G"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_age(Duration::from_secs(86_400 + 12 * 3600)), "1d12h");
        assert_eq!(format_age(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_age(Duration::from_secs(30)), "30s");
        assert_eq!(format_bytes(12), "12 B");
    }
}
