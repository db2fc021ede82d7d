//! The unified surface: list envelopes and opaque cursors.

pub(crate) mod cursor;

/// One page of a unified list.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage {
    /// The unified records of this page.
    pub result: Vec<serde_json::Value>,
    /// Pass back to [`ListCall::cursor`](crate::ListCall::cursor) for the next page; `None`
    /// on the last page.
    pub next_cursor: Option<String>,
    /// The upstream's rate-limit state after this page, when it reported one.
    pub rate_limit: Option<crate::RateLimit>,
}

impl ListPage {
    /// The number of records on this page.
    pub fn result_count(&self) -> usize {
        self.result.len()
    }

    /// The page as the unified envelope: `{"result", "next_cursor", "result_count"}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "result": self.result,
            "next_cursor": self.next_cursor,
            "result_count": self.result.len(),
        })
    }
}
