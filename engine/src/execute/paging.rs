//! Paging: the parameters of each page request, and the next page from each answer.
//!
//! The engine stops only on the upstream's own signal: a has-more flag that is false or
//! missing, a cursor that is null or empty, or no next link. A short page or an empty page
//! that still signals more does not end the list; a next page equal to the current one is an
//! error rather than a loop.

use jmespath::Rcvar;

use crate::definition::model::{LinkSource, Pagination, PaginationKind};
use crate::error::{Error, ErrorKind, Result};
use crate::unified::cursor::PageState;

/// What a page adds to its request.
#[derive(Default)]
pub(crate) struct PageParams {
    pub(crate) params: Vec<(String, serde_json::Value)>,
    /// For next links: the path and query under the base URL that replace the method's own.
    pub(crate) link: Option<String>,
    /// Past the deepest offset: the lower bound of the current window.
    pub(crate) window: Option<String>,
}

/// The state of the first page.
pub(crate) fn first(pagination: &Pagination, limit: u64) -> PageState {
    match &pagination.kind {
        PaginationKind::None | PaginationKind::Offset { .. } => PageState::Offset {
            o: 0,
            l: limit,
            w: None,
            x: Vec::new(),
            t: None,
            y: Vec::new(),
        },
        PaginationKind::Page { first_page, .. } => PageState::Page {
            p: *first_page,
            l: limit,
        },
        PaginationKind::Cursor { .. } => PageState::Cursor {
            c: String::new(),
            l: limit,
        },
        PaginationKind::NextLink { .. } => PageState::Link {
            u: String::new(),
            l: limit,
        },
    }
}

/// The page size a state carries.
pub(crate) fn limit_of(state: &PageState) -> u64 {
    match state {
        PageState::Offset { l, .. }
        | PageState::Page { l, .. }
        | PageState::Cursor { l, .. }
        | PageState::Link { l, .. } => *l,
    }
}

/// The same page with another page size.
pub(crate) fn with_limit(state: PageState, limit: u64) -> PageState {
    match state {
        PageState::Offset { o, w, x, t, y, .. } => PageState::Offset {
            o,
            l: limit,
            w,
            x,
            t,
            y,
        },
        PageState::Page { p, .. } => PageState::Page { p, l: limit },
        PageState::Cursor { c, .. } => PageState::Cursor { c, l: limit },
        PageState::Link { u, .. } => PageState::Link { u, l: limit },
    }
}

/// The parameters a page request carries.
pub(crate) fn params(pagination: &Pagination, state: &PageState) -> Result<PageParams> {
    let number = |n: u64| serde_json::Value::from(n);
    let mut out = PageParams::default();
    match (&pagination.kind, state) {
        (PaginationKind::None, _) => {}
        (
            PaginationKind::Offset {
                offset_param,
                limit_param,
            },
            PageState::Offset { o, l, w, .. },
        ) => {
            out.params.push((offset_param.clone(), number(*o)));
            out.params.push((limit_param.clone(), number(*l)));
            out.window = w.clone();
        }
        (
            PaginationKind::Page {
                page_param,
                limit_param,
                ..
            },
            PageState::Page { p, l },
        ) => {
            out.params.push((page_param.clone(), number(*p)));
            out.params.push((limit_param.clone(), number(*l)));
        }
        (
            PaginationKind::Cursor {
                cursor_param,
                limit_param,
                ..
            },
            PageState::Cursor { c, l },
        ) => {
            if !c.is_empty() {
                out.params.push((cursor_param.clone(), c.clone().into()));
            }
            out.params.push((limit_param.clone(), number(*l)));
        }
        (PaginationKind::NextLink { limit_param, .. }, PageState::Link { u, l }) => {
            if u.is_empty() {
                out.params.push((limit_param.clone(), number(*l)));
            } else {
                out.link = Some(u.clone());
            }
        }
        _ => {
            return Err(Error::input(
                "the cursor was made for another kind of paging than this resource uses",
            ))
        }
    }
    Ok(out)
}

/// What one answer says about the next page.
pub(crate) struct Answer<'a> {
    pub(crate) page: &'a Rcvar,
    pub(crate) headers: &'a [(String, String)],
    pub(crate) records: usize,
    /// The window key and id of each record on the page, when the pagination has a window;
    /// `None` when some record has no key, which rules a window out.
    pub(crate) keys: Option<&'a [(String, String)]>,
    /// The URL the page was fetched from, for resolving relative links.
    pub(crate) url: &'a str,
    /// The base URL every link must stay under.
    pub(crate) base: &'a str,
}

/// The next page, or `None` when the upstream signalled the end.
pub(crate) fn next(
    pagination: &Pagination,
    state: &PageState,
    answer: &Answer<'_>,
) -> Result<Option<PageState>> {
    let has_more = || -> Result<bool> {
        Ok(match &pagination.has_more {
            Some(expression) => expression.search(answer.page)?.is_truthy(),
            None => false,
        })
    };
    let limit = limit_of(state);
    let next = match (&pagination.kind, state) {
        (PaginationKind::None, _) => None,
        (PaginationKind::Offset { .. }, PageState::Offset { o, w, x, t, y, .. }) => {
            match has_more()? {
                false => None,
                true => {
                    // An empty page that still says "more" advances by the page size.
                    let advance = if answer.records == 0 {
                        limit
                    } else {
                        answer.records as u64
                    };
                    let next = o.checked_add(advance).ok_or_else(|| {
                        Error::mapping("the offset of the next page is out of range")
                    })?;
                    let (tail, tail_ids) = tail(t.as_deref(), y, answer.keys);
                    match pagination.max_offset {
                        Some(max)
                            if next.saturating_add(limit) > max && pagination.window.is_some() =>
                        {
                            Some(next_window(w.as_deref(), tail, tail_ids, limit)?)
                        }
                        _ => Some(PageState::Offset {
                            o: next,
                            l: limit,
                            w: w.clone(),
                            x: x.clone(),
                            t: tail,
                            y: tail_ids,
                        }),
                    }
                }
            }
        }
        (PaginationKind::Page { .. }, PageState::Page { p, .. }) => {
            has_more()?.then(|| PageState::Page {
                p: p.saturating_add(1),
                l: limit,
            })
        }
        (PaginationKind::Cursor { next_cursor, .. }, PageState::Cursor { .. }) => {
            let value = next_cursor.search(answer.page)?;
            let token = match &*value {
                jmespath::Variable::String(text) => text.clone(),
                jmespath::Variable::Number(number) => number.to_string(),
                _ => String::new(),
            };
            (!token.is_empty()).then_some(PageState::Cursor { c: token, l: limit })
        }
        (PaginationKind::NextLink { source, .. }, PageState::Link { .. }) => {
            let link = match source {
                LinkSource::Header(name) => answer
                    .headers
                    .iter()
                    .filter(|(key, _)| key.eq_ignore_ascii_case(name))
                    .find_map(|(_, value)| next_in_link_header(value)),
                LinkSource::Body(expression) => match &*expression.search(answer.page)? {
                    jmespath::Variable::String(text) if !text.is_empty() => Some(text.clone()),
                    _ => None,
                },
            };
            match link {
                Some(link) => Some(PageState::Link {
                    u: under_base(&link, answer.url, answer.base)?,
                    l: limit,
                }),
                None => None,
            }
        }
        _ => None,
    };
    if next.as_ref() == Some(state) {
        return Err(Error::new(
            ErrorKind::Mapping,
            "the upstream pointed at the page it just sent as the next one; stopping instead of looping",
        ));
    }
    Ok(next)
}

/// The highest key delivered in the window so far and every id at it, after this page.
fn tail(
    previous: Option<&str>,
    previous_ids: &[String],
    keys: Option<&[(String, String)]>,
) -> (Option<String>, Vec<String>) {
    // A page with a record lacking a key leaves no usable tail.
    let Some(keys) = keys else {
        return (None, Vec::new());
    };
    let Some((last, _)) = keys.last() else {
        return (previous.map(str::to_owned), previous_ids.to_vec());
    };
    let mut ids: Vec<String> = keys
        .iter()
        .filter(|(key, _)| key == last)
        .map(|(_, id)| id.clone())
        .collect();
    if previous == Some(last.as_str()) {
        ids.extend(previous_ids.iter().cloned());
    }
    ids.sort();
    ids.dedup();
    (Some(last.clone()), ids)
}

/// A new window from the highest key delivered, remembering the ids at that key so they are
/// not delivered twice. A window that did not move past its own start cannot make progress.
fn next_window(
    current: Option<&str>,
    tail: Option<String>,
    tail_ids: Vec<String>,
    limit: u64,
) -> Result<PageState> {
    let Some(start) = tail else {
        return Err(Error::mapping(
            "the list reached the upstream's deepest offset without a window key; cannot go deeper",
        ));
    };
    if current == Some(start.as_str()) {
        return Err(Error::mapping(format!(
            "more records than the upstream's deepest offset share the window key `{start}`; cannot go deeper"
        )));
    }
    Ok(PageState::Offset {
        o: 0,
        l: limit,
        w: Some(start),
        x: tail_ids,
        t: None,
        y: Vec::new(),
    })
}

/// The `rel="next"` target of an RFC 8288 `Link` header. Targets sit in `<...>` (and may hold
/// commas); `rel` may list several space-separated relations.
fn next_in_link_header(header: &str) -> Option<String> {
    let mut rest = header;
    while let Some(open) = rest.find('<') {
        let end = open + rest[open..].find('>')?;
        let target = &rest[open + 1..end];
        let after = &rest[end + 1..];
        let params_end = after.find('<').unwrap_or(after.len());
        let is_next = after[..params_end].split(';').any(|param| {
            let Some((name, value)) = param.split_once('=') else {
                return false;
            };
            name.trim().eq_ignore_ascii_case("rel")
                && value
                    .trim()
                    .trim_end_matches(',')
                    .trim()
                    .trim_matches('"')
                    .split_whitespace()
                    .any(|relation| relation.eq_ignore_ascii_case("next"))
        });
        if is_next {
            return Some(target.to_owned());
        }
        rest = &after[params_end..];
    }
    None
}

/// Resolves a link against the current URL and returns its part under the base URL. A link
/// elsewhere is refused: credentials must never follow it to another host.
fn under_base(link: &str, current: &str, base: &str) -> Result<String> {
    let current = reqwest::Url::parse(current)
        .map_err(|error| Error::mapping(format!("cannot read the page URL {current}: {error}")))?;
    let resolved = current
        .join(link)
        .map_err(|error| Error::mapping(format!("the next link `{link}` is not a URL: {error}")))?;
    let base = base.trim_end_matches('/');
    let text = resolved.as_str();
    match text.strip_prefix(base) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') || rest.starts_with('?') => {
            Ok(rest.to_owned())
        }
        _ => Err(Error::new(
            ErrorKind::Mapping,
            format!("the next link `{link}` leads outside {base}; not following it"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_next_target_of_a_link_header() {
        let header = r#"<https://x.test/v1/items?page=1>; rel="prev", <https://x.test/v1/items?page=3>; rel="next""#;
        assert_eq!(
            next_in_link_header(header).as_deref(),
            Some("https://x.test/v1/items?page=3")
        );
        assert_eq!(next_in_link_header(r#"<a>; rel="last""#), None);
        assert_eq!(
            next_in_link_header(r#"<a?ids=1,2>; rel="next last""#).as_deref(),
            Some("a?ids=1,2")
        );
        assert_eq!(
            next_in_link_header(r#"<b>; rel = "next""#).as_deref(),
            Some("b")
        );
    }

    #[test]
    fn links_resolve_under_the_base_or_are_refused() {
        let current = "https://x.test/v1/items?page=1";
        let base = "https://x.test/v1";
        assert_eq!(
            under_base("?page=2", current, base).unwrap(),
            "/items?page=2"
        );
        assert_eq!(
            under_base("/v1/items?page=2", current, base).unwrap(),
            "/items?page=2"
        );
        assert_eq!(
            under_base("https://x.test/v1/items?page=2", current, base).unwrap(),
            "/items?page=2"
        );
        assert!(under_base("https://evil.test/v1/items", current, base).is_err());
        assert!(under_base("//evil.test/v1/items", current, base).is_err());
        assert!(under_base("/v2/items", current, base).is_err());
        assert!(under_base("https://x.test/v10/items", current, base).is_err());
    }
}
