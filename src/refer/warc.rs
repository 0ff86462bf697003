//! WARC/1.1 `response` records, written to the spec (ISO 28500:2017) and read back.
//!
//! A record is `WARC/1.1` CRLF, named fields CRLF-separated, an empty line, the content block of
//! exactly `Content-Length` bytes, then two CRLFs. For a `response` record with
//! `Content-Type: application/http;msgtype=response` the block is the HTTP status line, the
//! headers and the body. Digests are labelled `sha256:<lowercase hex>`: `WARC-Payload-Digest`
//! covers the body (equal to the page's `sha256`), `WARC-Block-Digest` the whole block.
//!
//! The body is the one the crawler received after transfer decoding, so `Transfer-Encoding`
//! is dropped and `Content-Length` restated to match it; other headers are kept in arrival order
//! (any with CR or LF in them are dropped: they would forge record structure).

use crate::model::{Page, rfc3339};
use crate::util::sha256_hex;

/// One parsed WARC record.
#[derive(Debug, Clone, PartialEq)]
pub struct WarcRecord {
    /// The version line (`WARC/1.1`).
    pub version: String,
    /// Named fields in order.
    pub headers: Vec<(String, String)>,
    /// The content block.
    pub block: Vec<u8>,
}

impl WarcRecord {
    /// The first field with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP response parsed from a record block.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpMessage {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

/// What a checked response record proved.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedResponse {
    /// `WARC-Record-ID`.
    pub record_id: String,
    /// `WARC-Target-URI`.
    pub target_uri: String,
    /// `WARC-Date`.
    pub date: String,
    /// sha256 (hex) of the HTTP body.
    pub payload_sha256: String,
    /// HTTP status.
    pub status: u16,
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn clean(s: &str) -> bool {
    !s.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
}

/// The HTTP block for a captured page.
pub fn http_block(page: &Page) -> Vec<u8> {
    let mut block = format!(
        "HTTP/1.1 {} {}\r\n",
        page.status,
        reason_phrase(page.status)
    )
    .into_bytes();
    for (k, v) in &page.headers {
        let lk = k.to_ascii_lowercase();
        if lk == "transfer-encoding"
            || lk == "content-length"
            || !clean(k)
            || !clean(v)
            || k.is_empty()
        {
            continue;
        }
        block.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    block.extend_from_slice(format!("content-length: {}\r\n\r\n", page.body.len()).as_bytes());
    block.extend_from_slice(&page.body);
    block
}

/// A complete `response` record for `page` with the given record id (`<urn:uuid:...>`).
pub fn response_record(page: &Page, record_id: &str) -> Vec<u8> {
    let block = http_block(page);
    let target = if page.final_url.is_empty() {
        &page.url
    } else {
        &page.final_url
    };
    let fields = [
        ("WARC-Type", "response".to_string()),
        ("WARC-Record-ID", record_id.to_string()),
        ("WARC-Date", rfc3339(page.fetched_at)),
        ("WARC-Target-URI", target.replace(['\r', '\n'], "")),
        (
            "Content-Type",
            "application/http;msgtype=response".to_string(),
        ),
        (
            "WARC-Payload-Digest",
            format!("sha256:{}", sha256_hex(&page.body)),
        ),
        (
            "WARC-Block-Digest",
            format!("sha256:{}", sha256_hex(&block)),
        ),
        ("Content-Length", block.len().to_string()),
    ];
    let mut out = b"WARC/1.1\r\n".to_vec();
    for (k, v) in fields {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&block);
    out.extend_from_slice(b"\r\n\r\n");
    out
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Parses every record in a WARC file. Errors name the byte offset.
pub fn parse(bytes: &[u8]) -> Result<Vec<WarcRecord>, String> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let head_end = find(bytes, b"\r\n\r\n", pos)
            .ok_or_else(|| format!("byte {pos}: record header not terminated by an empty line"))?;
        let head = std::str::from_utf8(&bytes[pos..head_end])
            .map_err(|_| format!("byte {pos}: record header is not UTF-8"))?;
        let mut lines = head.split("\r\n");
        let version = lines.next().unwrap_or_default().to_string();
        if !version.starts_with("WARC/") {
            return Err(format!(
                "byte {pos}: expected a WARC version line, found {version:?}"
            ));
        }
        let mut headers = Vec::new();
        for line in lines {
            let (k, v) = line
                .split_once(':')
                .ok_or_else(|| format!("byte {pos}: malformed header line {line:?}"))?;
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Content-Length"))
            .ok_or_else(|| format!("byte {pos}: record without Content-Length"))?
            .1
            .parse()
            .map_err(|_| format!("byte {pos}: Content-Length is not a number"))?;
        let start = head_end + 4;
        let end = start
            .checked_add(len)
            .filter(|e| *e <= bytes.len())
            .ok_or_else(|| {
                format!("byte {pos}: Content-Length {len} runs past the end of the file")
            })?;
        if bytes.get(end..end + 4) != Some(b"\r\n\r\n") {
            return Err(format!("byte {end}: record not followed by CRLF CRLF"));
        }
        out.push(WarcRecord {
            version,
            headers,
            block: bytes[start..end].to_vec(),
        });
        pos = end + 4;
    }
    Ok(out)
}

/// Parses an `application/http;msgtype=response` block.
pub fn parse_http(block: &[u8]) -> Result<HttpMessage, String> {
    let end = find(block, b"\r\n\r\n", 0).ok_or("HTTP headers not terminated")?;
    let head = std::str::from_utf8(&block[..end]).map_err(|_| "HTTP header is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let proto = parts.next().unwrap_or_default();
    if !proto.starts_with("HTTP/") {
        return Err(format!("bad HTTP status line {status_line:?}"));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad HTTP status line {status_line:?}"))?;
    let mut headers = Vec::new();
    for line in lines {
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| format!("malformed HTTP header {line:?}"))?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    Ok(HttpMessage {
        status,
        headers,
        body: block[end + 4..].to_vec(),
    })
}

fn digest_hex(label: Option<&str>, name: &str) -> Result<String, String> {
    let v = label.ok_or_else(|| format!("missing {name}"))?;
    let hex = v
        .strip_prefix("sha256:")
        .ok_or_else(|| format!("{name} {v:?} is not sha256:<hex>"))?;
    Ok(hex.to_ascii_lowercase())
}

/// Checks one `response` record: type, required fields, both digests, HTTP parse.
pub fn check_response(rec: &WarcRecord) -> Result<CheckedResponse, String> {
    if rec.version != "WARC/1.1" {
        return Err(format!("version {:?} (expected WARC/1.1)", rec.version));
    }
    if rec.header("WARC-Type") != Some("response") {
        return Err(format!(
            "WARC-Type {:?} (expected response)",
            rec.header("WARC-Type")
        ));
    }
    let record_id = rec
        .header("WARC-Record-ID")
        .ok_or("missing WARC-Record-ID")?
        .to_string();
    if !(record_id.starts_with('<') && record_id.ends_with('>')) {
        return Err(format!("WARC-Record-ID {record_id:?} is not an <URI>"));
    }
    let date = rec
        .header("WARC-Date")
        .ok_or("missing WARC-Date")?
        .to_string();
    if crate::model::parse_rfc3339(&date).is_none() {
        return Err(format!("WARC-Date {date:?} is not a W3C/RFC 3339 date"));
    }
    let target_uri = rec
        .header("WARC-Target-URI")
        .ok_or("missing WARC-Target-URI")?
        .to_string();
    let block_hex = digest_hex(rec.header("WARC-Block-Digest"), "WARC-Block-Digest")?;
    if block_hex != sha256_hex(&rec.block) {
        return Err("WARC-Block-Digest does not match the block".into());
    }
    let http = parse_http(&rec.block)?;
    let payload = sha256_hex(&http.body);
    let payload_hex = digest_hex(rec.header("WARC-Payload-Digest"), "WARC-Payload-Digest")?;
    if payload_hex != payload {
        return Err("WARC-Payload-Digest does not match the HTTP body".into());
    }
    Ok(CheckedResponse {
        record_id,
        target_uri,
        date,
        payload_sha256: payload,
        status: http.status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Page {
        let body = "<html><p id=\"p1\">fictional</p></html>\r\n\r\nWARC/1.1\r\n"
            .as_bytes()
            .to_vec();
        Page {
            url: "http://forum-a.test/topic/1/".into(),
            final_url: "http://forum-a.test/topic/1/".into(),
            status: 200,
            headers: vec![
                ("content-type".into(), "text/html; charset=utf-8".into()),
                ("transfer-encoding".into(), "chunked".into()),
                ("x-evil".into(), "a\r\nWARC-Type: forged".into()),
            ],
            sha256: sha256_hex(&body),
            body,
            fetched_at: time::macros::datetime!(2026-03-01 12:00 UTC),
            depth: 1,
        }
    }

    #[test]
    fn record_round_trips_and_checks() {
        let p = page();
        let bytes = response_record(&p, "<urn:uuid:12345678-1234-4234-8234-123456789abc>");
        let recs = parse(&bytes).unwrap();
        assert_eq!(recs.len(), 1);
        let c = check_response(&recs[0]).unwrap();
        assert_eq!(c.payload_sha256, p.sha256);
        assert_eq!(c.status, 200);
        assert_eq!(c.target_uri, p.url);
        assert_eq!(c.date, "2026-03-01T12:00:00Z");
        let http = parse_http(&recs[0].block).unwrap();
        assert_eq!(http.body, p.body);
        assert!(
            !http
                .headers
                .iter()
                .any(|(k, _)| k == "transfer-encoding" || k == "x-evil")
        );
    }

    #[test]
    fn any_flipped_byte_is_caught() {
        let p = page();
        let bytes = response_record(&p, "<urn:uuid:12345678-1234-4234-8234-123456789abc>");
        for i in (0..bytes.len()).step_by(7) {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            let ok = parse(&b)
                .ok()
                .and_then(|r| r.first().map(check_response))
                .map(|r| r.is_ok());
            // A flip inside the free-text parts of a header value may still parse, but then the
            // value changed and the caller compares it; a flip in block or digests must fail.
            if ok == Some(true) {
                let recs = parse(&b).unwrap();
                let c = check_response(&recs[0]).unwrap();
                let orig_recs = parse(&bytes).unwrap();
                let orig = check_response(&orig_recs[0]).unwrap();
                assert!(
                    c != orig || recs[0].headers != orig_recs[0].headers,
                    "flip at byte {i} went unnoticed"
                );
            }
        }
    }

    #[test]
    fn hostile_input_errors_without_panic() {
        for junk in [
            &b""[..],
            b"WARC/1.1\r\n",
            b"WARC/1.1\r\nContent-Length: 99\r\n\r\nab",
            b"\xff\xfe\r\n\r\n",
        ] {
            let _ = parse(junk);
        }
        assert!(parse(b"WARC/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n").is_err());
    }
}
