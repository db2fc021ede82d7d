//! Instants: writing "now" in a declared pattern and reading ISO-8601 strings leniently.

use std::time::{SystemTime, UNIX_EPOCH};

const MICROS_PER_SECOND: i64 = 1_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// Microseconds since the Unix epoch, UTC.
pub(crate) type Micros = i64;

/// The current instant.
pub(crate) fn now() -> Micros {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(elapsed) => i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

/// Checks that a timestamp pattern uses only the directives [`format`] knows.
pub(crate) fn check_pattern(pattern: &str) -> Result<(), String> {
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        match chars.next() {
            Some('Y' | 'm' | 'd' | 'H' | 'M' | 'S' | 'f' | '%') => {}
            Some('3' | '6') if chars.next() == Some('f') => {}
            Some(other) => return Err(format!("unknown directive `%{other}`")),
            None => return Err("the pattern ends with a lone `%`".into()),
        }
    }
    Ok(())
}

/// Writes an instant in UTC following a checked pattern (see [`check_pattern`]).
pub(crate) fn format(instant: Micros, pattern: &str) -> String {
    let seconds = instant.div_euclid(MICROS_PER_SECOND);
    let micros = instant.rem_euclid(MICROS_PER_SECOND);
    let (year, month, day) = civil_from_days(seconds.div_euclid(SECONDS_PER_DAY));
    let of_day = seconds.rem_euclid(SECONDS_PER_DAY);

    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out.push_str(&format!("{year:04}")),
            Some('m') => out.push_str(&format!("{month:02}")),
            Some('d') => out.push_str(&format!("{day:02}")),
            Some('H') => out.push_str(&format!("{:02}", of_day / 3600)),
            Some('M') => out.push_str(&format!("{:02}", of_day / 60 % 60)),
            Some('S') => out.push_str(&format!("{:02}", of_day % 60)),
            Some('f') => out.push_str(&format!("{micros:06}")),
            Some('3') => {
                chars.next();
                out.push_str(&format!("{:03}", micros / 1000));
            }
            Some('6') => {
                chars.next();
                out.push_str(&format!("{micros:06}"));
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Reads an ISO-8601 date or date-time; `None` when the text is not one.
///
/// Accepts `YYYY-MM-DD` (midnight UTC), then `T` or a space, `HH:MM[:SS[.fraction]]`, then
/// nothing (UTC), `Z`, or an offset `±HH[:MM]`. A space in place of the offset's `+` is
/// read as `+`, because an unencoded `+` in a query string arrives as a space.
pub(crate) fn parse(text: &str) -> Option<Micros> {
    let text = text.trim_start();
    let bytes = text.as_bytes();
    let year = digits(bytes, 0, 4)?;
    expect(bytes, 4, b'-')?;
    let month = digits(bytes, 5, 2)?;
    expect(bytes, 7, b'-')?;
    let day = digits(bytes, 8, 2)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let rest = &text[10..];
    let rest = rest.trim_end();
    if rest.is_empty() {
        return Some(days * SECONDS_PER_DAY * MICROS_PER_SECOND);
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let (of_day, offset) = parse_time(rest)?;
    Some((days * SECONDS_PER_DAY - offset) * MICROS_PER_SECOND + of_day)
}

/// Reads `HH:MM[:SS[.fraction]][offset]`: microseconds into the day, offset in seconds.
fn parse_time(text: &str) -> Option<(Micros, i64)> {
    let bytes = text.as_bytes();
    let hour = digits(bytes, 0, 2)?;
    expect(bytes, 2, b':')?;
    let minute = digits(bytes, 3, 2)?;
    let mut at = 5;
    let mut second = 0;
    if bytes.get(at) == Some(&b':') {
        second = digits(bytes, at + 1, 2)?;
        at += 3;
    }
    let mut micros = 0;
    if matches!(bytes.get(at), Some(b'.' | b',')) {
        let start = at + 1;
        let end = start
            + bytes[start..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
        if end == start {
            return None;
        }
        micros = fraction_micros(&text[start..end]);
        at = end;
    }
    if hour > 24 || minute > 59 || second > 60 {
        return None;
    }
    let offset = parse_offset(&text[at..])?;
    let of_day = (hour * 3600 + minute * 60 + second) * MICROS_PER_SECOND + micros;
    Some((of_day, offset))
}

/// Reads nothing, `Z`, or `±HH[:MM]` / `±HHMM` (a space counts as `+`): seconds east of UTC.
fn parse_offset(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let sign = match bytes.first() {
        None => return Some(0),
        Some(b'Z' | b'z') if bytes.len() == 1 => return Some(0),
        Some(b'+' | b' ') => 1,
        Some(b'-') => -1,
        Some(_) => return None,
    };
    let hours = digits(bytes, 1, 2)?;
    let minutes = match bytes.len() {
        3 => 0,
        5 => digits(bytes, 3, 2)?,
        6 if bytes[3] == b':' => digits(bytes, 4, 2)?,
        _ => return None,
    };
    Some(sign * (hours * 3600 + minutes * 60))
}

/// The first six digits of a decimal fraction, as microseconds.
fn fraction_micros(digits: &str) -> i64 {
    let mut micros = 0;
    for (index, digit) in digits.bytes().take(6).enumerate() {
        micros += i64::from(digit - b'0') * 10_i64.pow(5 - index as u32);
    }
    micros
}

fn digits(bytes: &[u8], start: usize, count: usize) -> Option<i64> {
    let slice = bytes.get(start..start + count)?;
    slice.iter().try_fold(0_i64, |value, byte| {
        byte.is_ascii_digit()
            .then(|| value * 10 + i64::from(byte - b'0'))
    })
}

fn expect(bytes: &[u8], at: usize, wanted: u8) -> Option<()> {
    (bytes.get(at) == Some(&wanted)).then_some(())
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_reads_back() {
        let instant = parse("2026-02-11T16:04:51.902000+00:00").expect("parses");
        let written = format(instant, "%Y-%m-%dT%H:%M:%S.%3f000+00:00");
        assert_eq!(written, "2026-02-11T16:04:51.902000+00:00");
        assert_eq!(format(instant, "%Y-%m-%d %%"), "2026-02-11 %");
    }

    #[test]
    fn reads_the_lenient_forms() {
        let midnight = parse("2026-03-01").expect("date");
        assert_eq!(parse("2026-03-01T00:00:00Z"), Some(midnight));
        assert_eq!(parse("2026-03-01T00:00"), Some(midnight));
        assert_eq!(parse("2026-03-01T01:00:00+01:00"), Some(midnight));
        assert_eq!(parse("2026-03-01T01:00:00 01:00"), Some(midnight));
        assert_eq!(parse("2026-02-28T23:00:00-0100"), Some(midnight));
        assert_eq!(parse("2026-03-01T00:00:00.5Z"), Some(midnight + 500_000));
        assert!(parse("0001-01-01T00:00:00").is_some());
        assert_eq!(parse("2026-13-01"), None);
        assert_eq!(parse("yesterday"), None);
        assert_eq!(parse("2026-03-01Tnoon"), None);
    }

    #[test]
    fn checks_patterns() {
        assert!(check_pattern("%Y-%m-%dT%H:%M:%S.%6f").is_ok());
        assert!(check_pattern("%q").is_err());
        assert!(check_pattern("%").is_err());
    }
}
