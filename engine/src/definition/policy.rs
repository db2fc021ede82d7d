//! Reading `rate_limit` and `retry` from `integration.yaml`.

use super::model::{Backoff, RateLimitPolicy, RetryPolicy, WaitSignal};
use super::reader::{Fields, Reader};
use super::yaml::{Node, NodeValue};

const RATE_LIMIT_KEYS: &[&str] = &[
    "statuses",
    "waits",
    "info_header",
    "max_wait_seconds",
    "attempts",
    "backoff",
];
const RETRY_KEYS: &[&str] = &[
    "statuses",
    "attempts",
    "max_elapsed_seconds",
    "backoff",
    "methods",
];

pub(super) fn read_rate_limit(reader: &mut Reader<'_>, node: &Node) -> Option<RateLimitPolicy> {
    let fields = reader.mapping(node, "rate_limit", RATE_LIMIT_KEYS)?;
    let mut policy = RateLimitPolicy::default();
    let mut ok = true;
    if let Some(node) = fields.get("statuses") {
        ok &= statuses(reader, node, &fields.child("statuses"))
            .map(|s| policy.statuses = s)
            .is_some();
    }
    if let Some(node) = fields.get("waits") {
        ok &= waits(reader, node, &fields.child("waits"))
            .map(|w| policy.waits = w)
            .is_some();
    }
    if let Some(node) = fields.get("info_header") {
        let header = reader.string(node, &fields.child("info_header"));
        ok &= header
            .map(|h| policy.info_header = Some(h.to_ascii_lowercase()))
            .is_some();
    }
    if let Some(node) = fields.get("max_wait_seconds") {
        let wait = reader.seconds(node, &fields.child("max_wait_seconds"));
        ok &= wait.map(|w| policy.max_wait = w).is_some();
    }
    if let Some(node) = fields.get("attempts") {
        let attempts = reader.integer(node, &fields.child("attempts"), 1);
        ok &= attempts
            .map(|a| policy.attempts = a.min(100) as u32)
            .is_some();
    }
    if let Some(node) = fields.get("backoff") {
        ok &= backoff(reader, node, &fields.child("backoff"))
            .map(|b| policy.backoff = b)
            .is_some();
    }
    ok.then_some(policy)
}

pub(super) fn read_retry(reader: &mut Reader<'_>, node: &Node) -> Option<RetryPolicy> {
    let fields = reader.mapping(node, "retry", RETRY_KEYS)?;
    let mut policy = RetryPolicy::default();
    let mut ok = true;
    if let Some(node) = fields.get("statuses") {
        ok &= statuses(reader, node, &fields.child("statuses"))
            .map(|s| policy.statuses = s)
            .is_some();
    }
    if let Some(node) = fields.get("attempts") {
        let attempts = reader.integer(node, &fields.child("attempts"), 1);
        ok &= attempts
            .map(|a| policy.attempts = a.min(100) as u32)
            .is_some();
    }
    if let Some(node) = fields.get("max_elapsed_seconds") {
        let elapsed = reader.seconds(node, &fields.child("max_elapsed_seconds"));
        ok &= elapsed.map(|e| policy.max_elapsed = e).is_some();
    }
    if let Some(node) = fields.get("backoff") {
        ok &= backoff(reader, node, &fields.child("backoff"))
            .map(|b| policy.backoff = b)
            .is_some();
    }
    if let Some(node) = fields.get("methods") {
        let methods = reader.string_list(node, &fields.child("methods"));
        ok &= methods
            .map(|m| policy.methods = m.iter().map(|m| m.to_ascii_uppercase()).collect())
            .is_some();
    }
    ok.then_some(policy)
}

fn statuses(reader: &mut Reader<'_>, node: &Node, path: &str) -> Option<Vec<u16>> {
    let NodeValue::Sequence(items) = &node.value else {
        reader.report(
            node.position,
            path,
            "expected a list of HTTP statuses",
            None,
        );
        return None;
    };
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let status = reader.integer(item, &format!("{path}[{index}]"), 100)?;
        if status > 599 {
            reader.report(
                item.position,
                &format!("{path}[{index}]"),
                "an HTTP status is 100 to 599",
                None,
            );
            return None;
        }
        out.push(status as u16);
    }
    Some(out)
}

fn waits(reader: &mut Reader<'_>, node: &Node, path: &str) -> Option<Vec<WaitSignal>> {
    let NodeValue::Sequence(items) = &node.value else {
        reader.report(node.position, path, "expected a list of wait signals", None);
        return None;
    };
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (index, item) in items.iter().enumerate() {
        let item_path = format!("{path}[{index}]");
        match wait(reader, item, &item_path) {
            Some(signal) => out.push(signal),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn wait(reader: &mut Reader<'_>, node: &Node, path: &str) -> Option<WaitSignal> {
    let fields: Fields<'_> = reader.mapping(node, path, &["header", "field", "body"])?;
    match (fields.get("header"), fields.get("body")) {
        (Some(header), None) => {
            let name = reader
                .string(header, &fields.child("header"))?
                .to_ascii_lowercase();
            match fields.get("field") {
                Some(field) => {
                    let field = reader.string(field, &fields.child("field"))?;
                    Some(WaitSignal::HeaderField(name, field))
                }
                None => Some(WaitSignal::Header(name)),
            }
        }
        (None, Some(body)) => reader
            .expression(body, &fields.child("body"))
            .map(WaitSignal::Body),
        _ => {
            let message =
                "a wait signal names either `header` (with an optional `field`) or `body`";
            reader.report(fields.position, path, message, None);
            None
        }
    }
}

fn backoff(reader: &mut Reader<'_>, node: &Node, path: &str) -> Option<Backoff> {
    let fields = reader.mapping(node, path, &["initial_seconds", "max_seconds"])?;
    let mut backoff = Backoff::default();
    if let Some(node) = fields.get("initial_seconds") {
        backoff.initial = reader.seconds(node, &fields.child("initial_seconds"))?;
    }
    if let Some(node) = fields.get("max_seconds") {
        backoff.max = reader.seconds(node, &fields.child("max_seconds"))?;
    }
    Some(backoff)
}
