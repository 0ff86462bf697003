//! Static files: request path -> file under `sites/<host>/`, content types, validators.
//!
//! The mapping follows CONTRACTS.md: the URL path maps 1:1 to a file, a path ending in `/` maps to
//! `index.html` in that directory. Everything that could step outside the host's directory is
//! refused *before* the file system is touched (`..`, `.`, backslashes, NUL, drive letters, in
//! plain or percent-encoded form); a final `canonicalize` check catches symlinks that point out
//! of the root. Paths are percent-decoded exactly once, so `%252e%252e` stays the literal file
//! name `%2e%2e` (which does not exist) instead of turning into `..`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;

/// Longest request path (raw, before decoding) that is looked at; longer ones get 414.
pub const MAX_PATH_LEN: usize = 4096;

/// Why a request path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathRefusal {
    /// Not an origin-form path, bad percent-escape, non-UTF-8, NUL, backslash, `..` or `.`.
    BadRequest,
    /// Longer than [`MAX_PATH_LEN`].
    TooLong,
}

/// Percent-decodes `raw` once. `None` on a malformed escape (`%`, `%4`, `%zz`).
pub fn percent_decode(raw: &str) -> Option<Vec<u8>> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = bytes.get(i + 1).and_then(|b| (*b as char).to_digit(16))?;
            let lo = bytes.get(i + 2).and_then(|b| (*b as char).to_digit(16))?;
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Turns a raw request path (`/topic/12/`, percent-encoded, no query) into the relative file path
/// it names under the host directory (`topic/12/index.html`), with `/` separators.
///
/// Empty segments (`//`) are merged as nginx does by default. Refuses anything that could name a
/// file outside the host directory.
pub fn relative_file(raw_path: &str) -> Result<String, PathRefusal> {
    if raw_path.len() > MAX_PATH_LEN {
        return Err(PathRefusal::TooLong);
    }
    if !raw_path.starts_with('/') {
        return Err(PathRefusal::BadRequest);
    }
    let decoded = percent_decode(raw_path).ok_or(PathRefusal::BadRequest)?;
    let decoded = String::from_utf8(decoded).map_err(|_| PathRefusal::BadRequest)?;
    if decoded.contains(['\0', '\\']) {
        return Err(PathRefusal::BadRequest);
    }
    let mut segments = Vec::new();
    for seg in decoded.split('/') {
        if seg.is_empty() {
            continue;
        }
        if seg == "." || seg == ".." || is_drive_prefix(seg) || seg.chars().any(char::is_control) {
            return Err(PathRefusal::BadRequest);
        }
        segments.push(seg);
    }
    let mut rel = segments.join("/");
    if decoded.ends_with('/') || segments.is_empty() {
        if !rel.is_empty() {
            rel.push('/');
        }
        rel.push_str("index.html");
    }
    Ok(rel)
}

/// `C:` and the like: harmless on Unix, an absolute path on Windows.
fn is_drive_prefix(seg: &str) -> bool {
    let b = seg.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

/// The MIME type for a file name, and whether it is text that takes a `charset` parameter.
pub fn content_type(rel: &str) -> (&'static str, bool) {
    let ext = rel
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => ("text/html", true),
        "xml" => ("text/xml", true),
        "txt" => ("text/plain", true),
        "css" => ("text/css", true),
        "js" => ("application/javascript", true),
        "json" | "jsonld" => ("application/json", false),
        "rss" => ("application/rss+xml", true),
        "atom" => ("application/atom+xml", false),
        "png" => ("image/png", false),
        "jpg" | "jpeg" => ("image/jpeg", false),
        "gif" => ("image/gif", false),
        "webp" => ("image/webp", false),
        "svg" => ("image/svg+xml", false),
        "ico" => ("image/x-icon", false),
        _ => ("application/octet-stream", false),
    }
}

/// The `encoding="..."` of an XML declaration at the start of `body`, lowercased.
///
/// Sitemaps must be UTF-8 whatever the host's page charset, so an XML file's own declaration wins
/// over the host charset.
pub fn xml_declared_encoding(body: &[u8]) -> Option<String> {
    let head = body.get(..body.len().min(200))?;
    let head = std::str::from_utf8(head).ok().or_else(|| {
        // A cut in the middle of a multi-byte char: the declaration itself is ASCII.
        let end = head.iter().position(|b| *b == b'>')? + 1;
        std::str::from_utf8(&head[..end]).ok()
    })?;
    let decl = head.strip_prefix("<?xml")?;
    let decl = &decl[..decl.find("?>")?];
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let rest = &rest[1..];
    let value = &rest[..rest.find(quote)?];
    Some(value.to_ascii_lowercase())
}

/// Cache of strong entity tags, keyed by path and validated by size and mtime.
#[derive(Debug, Default)]
pub struct EtagCache {
    map: Mutex<HashMap<PathBuf, (u64, SystemTime, String)>>,
}

impl EtagCache {
    /// The quoted ETag of `bytes` read from `path` (size `len`, modified `mtime`).
    pub fn etag(&self, path: &Path, len: u64, mtime: SystemTime, bytes: &[u8]) -> String {
        if let Ok(map) = self.map.lock() {
            if let Some((l, m, tag)) = map.get(path) {
                if *l == len && *m == mtime {
                    return tag.clone();
                }
            }
        }
        let tag = format!("\"{}\"", &crate::util::sha256_hex(bytes)[..32]);
        if let Ok(mut map) = self.map.lock() {
            map.insert(path.to_path_buf(), (len, mtime, tag.clone()));
        }
        tag
    }
}

const HTTP_DATE: &[FormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

/// Formats a time as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn http_date(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap_or(0))
        .ok()
        .and_then(|dt| dt.format(HTTP_DATE).ok())
        .unwrap_or_else(|| "Thu, 01 Jan 1970 00:00:00 GMT".to_string())
}

/// Parses an IMF-fixdate into seconds since the epoch (other legacy formats: `None`).
pub fn parse_http_date(s: &str) -> Option<i64> {
    let s = s.trim();
    let dt = time::PrimitiveDateTime::parse(s, HTTP_DATE).ok()?;
    Some(dt.assume_utc().unix_timestamp())
}

/// Seconds since the epoch of a file time (what `Last-Modified` can express).
pub fn unix_secs(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Whether an `If-None-Match` header value matches `etag` (weak comparison, `*` matches all).
pub fn if_none_match(header: &str, etag: &str) -> bool {
    let bare = etag.trim_start_matches("W/");
    header
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.trim_start_matches("W/") == bare)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_paths_to_files() {
        assert_eq!(relative_file("/").unwrap(), "index.html");
        assert_eq!(relative_file("/topic/12/").unwrap(), "topic/12/index.html");
        assert_eq!(relative_file("/a//b.html").unwrap(), "a/b.html");
        assert_eq!(relative_file("/%D1%84.html").unwrap(), "ф.html");
        assert_eq!(relative_file("/%252e%252e/x").unwrap(), "%2e%2e/x");
    }

    #[test]
    fn refuses_traversal() {
        for p in [
            "/../etc/passwd",
            "/a/../../x",
            "/%2e%2e/x",
            "/%2E%2E/%2e%2E/etc/passwd",
            "/..%2fetc",
            "/a/..%5c..%5cx",
            "/a\\..\\x",
            "/a/%00.html",
            "/./x",
            "/C:/windows",
            "/%ff%fe",
            "/bad%zz",
            "/trail%",
            "relative",
            "*",
        ] {
            assert_eq!(relative_file(p), Err(PathRefusal::BadRequest), "{p}");
        }
        assert_eq!(
            relative_file(&format!("/{}", "a".repeat(MAX_PATH_LEN))),
            Err(PathRefusal::TooLong)
        );
    }

    proptest::proptest! {
        /// Whatever the input, mapping never panics and never yields a path that leaves the host
        /// directory.
        #[test]
        fn mapping_stays_inside(raw in "(/|%2[eEfF]|%5[cC]|%00|\\.|\\.\\.|[a-z]|%[0-9a-fA-F]{2}|\\\\|%)*") {
            if let Ok(rel) = relative_file(&raw) {
                proptest::prop_assert!(!rel.starts_with('/'));
                for seg in rel.split('/') {
                    proptest::prop_assert!(seg != ".." && seg != "." && !seg.is_empty());
                    proptest::prop_assert!(!seg.contains(['\\', '\0']));
                }
            }
        }

        #[test]
        fn arbitrary_text_never_panics(raw in "\\PC*") {
            let _ = relative_file(&raw);
            let _ = xml_declared_encoding(raw.as_bytes());
            let _ = parse_http_date(&raw);
            let _ = super::super::trap::parse(&raw, (2015, 10));
        }
    }

    #[test]
    fn xml_encoding() {
        assert_eq!(
            xml_declared_encoding(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><urlset/>")
                .as_deref(),
            Some("utf-8")
        );
        assert_eq!(
            xml_declared_encoding(b"<?xml version='1.0' encoding = 'GBK' ?>").as_deref(),
            Some("gbk")
        );
        assert_eq!(xml_declared_encoding(b"<?xml version=\"1.0\"?>"), None);
        assert_eq!(xml_declared_encoding(b"<urlset/>"), None);
    }

    #[test]
    fn dates_round_trip() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(784_111_777);
        assert_eq!(http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(parse_http_date("garbage"), None);
    }

    #[test]
    fn etag_matching() {
        assert!(if_none_match("\"abc\"", "\"abc\""));
        assert!(if_none_match("W/\"x\", \"abc\"", "\"abc\""));
        assert!(if_none_match("*", "\"abc\""));
        assert!(!if_none_match("\"abd\"", "\"abc\""));
    }
}
