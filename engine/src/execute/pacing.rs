//! Reading the upstream's rate-limit signals, and the waits between attempts.

use std::time::{Duration, SystemTime};

use crate::compile::expression::from_json;
use crate::definition::model::{RateLimitPolicy, WaitSignal};

use super::Raw;

/// What the upstream said about its rate limit on one response.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RateLimit {
    /// Requests allowed in the current window.
    pub limit: Option<u64>,
    /// Requests left in the current window.
    pub remaining: Option<u64>,
    /// Time until the window resets.
    pub reset: Option<Duration>,
}

impl Raw {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// The longest wait any declared signal suggests, or `None` when the response carries none.
pub(crate) fn suggested_wait(raw: &Raw, policy: &RateLimitPolicy) -> Option<Duration> {
    let body: Option<serde_json::Value> = serde_json::from_slice(&raw.body).ok();
    let converted = body.as_ref().map(from_json);
    policy
        .waits
        .iter()
        .filter_map(|signal| match signal {
            WaitSignal::Header(name) => raw.header(name).and_then(seconds_or_date),
            WaitSignal::HeaderField(name, field) => raw
                .header(name)
                .and_then(|value| structured_field(value, field))
                .and_then(seconds),
            WaitSignal::Body(expression) => {
                let value = expression.search_json(converted.as_ref()?).ok()?;
                match value {
                    serde_json::Value::Number(number) => number.as_f64().and_then(duration),
                    serde_json::Value::String(text) => seconds(&text),
                    _ => None,
                }
            }
        })
        .max()
}

/// `limit`, `remaining` and `reset` from a `key=value, ...` header.
pub(crate) fn rate_limit_info(raw: &Raw, policy: &RateLimitPolicy) -> Option<RateLimit> {
    let value = raw.header(policy.info_header.as_deref()?)?;
    let number =
        |key: &str| structured_field(value, key).and_then(|v| v.trim().parse::<u64>().ok());
    let info = RateLimit {
        limit: number("limit"),
        remaining: number("remaining"),
        reset: structured_field(value, "reset").and_then(seconds),
    };
    (info != RateLimit::default()).then_some(info)
}

/// The value of `key` in a header like `limit=100, remaining=50, reset=5`.
fn structured_field<'v>(header: &'v str, key: &str) -> Option<&'v str> {
    header
        .split([',', ';'])
        .filter_map(|part| part.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case(key))
        .map(|(_, value)| value.trim().trim_matches('"'))
}

fn seconds(text: &str) -> Option<Duration> {
    text.trim().parse::<f64>().ok().and_then(duration)
}

fn duration(seconds: f64) -> Option<Duration> {
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(1e9)))
}

/// `Retry-After`: seconds, or an HTTP date (a date in the past means now).
fn seconds_or_date(text: &str) -> Option<Duration> {
    seconds(text).or_else(|| {
        let when = httpdate::parse_http_date(text.trim()).ok()?;
        Some(when.duration_since(SystemTime::now()).unwrap_or_default())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::expression::Expression;

    fn raw(headers: &[(&str, &str)], body: &str) -> Raw {
        Raw {
            status: 429,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn policy() -> RateLimitPolicy {
        RateLimitPolicy {
            waits: vec![
                WaitSignal::HeaderField("ratelimit".into(), "reset".into()),
                WaitSignal::Header("retry-after".into()),
                WaitSignal::Body(Expression::compile("error.rate_reset").unwrap()),
                WaitSignal::Body(Expression::compile("rate_reset").unwrap()),
            ],
            info_header: Some("ratelimit".into()),
            ..RateLimitPolicy::default()
        }
    }

    #[test]
    fn the_longest_signal_wins() {
        let response = raw(
            &[
                ("RateLimit", "limit=100, remaining=0, reset=1.5"),
                ("Retry-After", "2"),
            ],
            r#"{"error": {"rate_reset": 0.87}}"#,
        );
        assert_eq!(
            suggested_wait(&response, &policy()),
            Some(Duration::from_secs(2))
        );
    }

    #[test]
    fn fractional_reset_and_string_bodies_are_read() {
        let header = raw(&[("ratelimit", "limit=100, remaining=50, reset=0.25")], "");
        assert_eq!(
            suggested_wait(&header, &policy()),
            Some(Duration::from_millis(250))
        );
        let flat = raw(&[], r#"{"rate_reset": "0.595956"}"#);
        assert_eq!(
            suggested_wait(&flat, &policy()),
            Some(Duration::from_secs_f64(0.595956))
        );
    }

    #[test]
    fn retry_after_may_be_an_http_date() {
        let past = raw(&[("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT")], "");
        assert_eq!(suggested_wait(&past, &policy()), Some(Duration::ZERO));
    }

    #[test]
    fn no_signal_is_none() {
        assert_eq!(
            suggested_wait(&raw(&[], "<html>slow down</html>"), &policy()),
            None
        );
    }

    #[test]
    fn info_is_read_from_the_structured_header() {
        let response = raw(&[("RateLimit", "limit=100, remaining=50, reset=5")], "");
        let info = rate_limit_info(&response, &policy()).unwrap();
        assert_eq!(info.limit, Some(100));
        assert_eq!(info.remaining, Some(50));
        assert_eq!(info.reset, Some(Duration::from_secs(5)));
    }
}
