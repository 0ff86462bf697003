//! Charset decoding: BOM, then the `Content-Type` header, then `<meta charset>` /
//! `<meta http-equiv content="...charset=...">` in the first 1024 bytes, then sniffing
//! (valid UTF-8; else GBK vs windows-1251 vs windows-1252 by byte statistics). encoding_rs
//! decodes; malformed sequences become U+FFFD, never an error.

use std::borrow::Cow;

use encoding_rs::{Encoding, GBK, UTF_8, WINDOWS_1251, WINDOWS_1252};

/// Where the charset decision came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharsetSource {
    /// Byte order mark.
    Bom,
    /// HTTP `Content-Type`.
    Header,
    /// `<meta>` in the document.
    Meta,
    /// Byte statistics.
    Sniffed,
}

/// Decodes an HTML body.
pub fn decode<'a>(
    body: &'a [u8],
    content_type: Option<&str>,
) -> (Cow<'a, str>, &'static Encoding, CharsetSource) {
    let (enc, src) = detect(body, content_type);
    let (text, _, _) = enc.decode(body);
    (text, enc, src)
}

/// Decides the encoding without decoding.
pub fn detect(body: &[u8], content_type: Option<&str>) -> (&'static Encoding, CharsetSource) {
    if let Some((enc, _)) = Encoding::for_bom(body) {
        return (enc, CharsetSource::Bom);
    }
    if let Some(enc) = content_type
        .and_then(charset_param)
        .and_then(|l| Encoding::for_label(l.as_bytes()))
    {
        return (html_enc(enc), CharsetSource::Header);
    }
    if let Some(enc) = meta_charset(&body[..body.len().min(1024)]) {
        return (html_enc(enc), CharsetSource::Meta);
    }
    (sniff(body), CharsetSource::Sniffed)
}

/// HTML rule: a declared UTF-16 in an ASCII-compatible document means UTF-8.
fn html_enc(enc: &'static Encoding) -> &'static Encoding {
    if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
        UTF_8
    } else {
        enc
    }
}

/// The `charset=` parameter of a Content-Type value.
pub fn charset_param(ct: &str) -> Option<String> {
    let lower = ct.to_ascii_lowercase();
    let i = lower.find("charset")?;
    let rest = lower[i + 7..].trim_start().strip_prefix('=')?.trim_start();
    let v: String = rest
        .trim_start_matches(['"', '\''])
        .chars()
        .take_while(|c| !matches!(c, '"' | '\'' | ';' | ' ' | '>' | '/'))
        .collect();
    (!v.is_empty()).then_some(v)
}

fn meta_charset(head: &[u8]) -> Option<&'static Encoding> {
    let lower: Vec<u8> = head.iter().map(|b| b.to_ascii_lowercase()).collect();
    let mut i = 0;
    while let Some(p) = find(&lower[i..], b"<meta") {
        let start = i + p + 5;
        let end = lower[start..]
            .iter()
            .position(|&b| b == b'>')
            .map(|e| start + e)
            .unwrap_or(lower.len());
        let tag = String::from_utf8_lossy(&lower[start..end]);
        if let Some(cs) = charset_param(&tag) {
            if let Some(enc) = Encoding::for_label(cs.as_bytes()) {
                return Some(enc);
            }
        }
        i = end;
    }
    None
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// Sniffs: UTF-8 if valid; otherwise GBK when most double-byte pairs start in the GB2312
/// common-hanzi lead range, windows-1251 when high bytes are mostly Cyrillic letters,
/// windows-1252 otherwise.
pub fn sniff(body: &[u8]) -> &'static Encoding {
    if std::str::from_utf8(body).is_ok() {
        return UTF_8;
    }
    let high: Vec<u8> = body.iter().copied().filter(|b| *b >= 0x80).collect();
    if high.is_empty() {
        return WINDOWS_1252;
    }
    let (_, _, gbk_errors) = GBK.decode(body);
    let mut pairs = 0usize;
    let mut common = 0usize;
    let mut i = 0;
    while i + 1 < body.len() {
        if body[i] >= 0x81 {
            pairs += 1;
            if (0xB0..=0xD7).contains(&body[i]) && body[i + 1] >= 0xA1 {
                common += 1;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    if !gbk_errors && pairs > 0 && common * 2 >= pairs {
        return GBK;
    }
    let cyr = high
        .iter()
        .filter(|b| **b >= 0xC0 || matches!(**b, 0xA8 | 0xB8))
        .count();
    if cyr * 10 >= high.len() * 7 {
        WINDOWS_1251
    } else {
        WINDOWS_1252
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_header_meta_sniff() {
        let (cp, _, _) = WINDOWS_1251.encode("Привет, товарищи! Это тестовый текст.");
        let (t, e, s) = decode(&cp, Some("text/html; charset=windows-1251"));
        assert_eq!((e, s), (WINDOWS_1251, CharsetSource::Header));
        assert!(t.starts_with("Привет"));
        let mut doc = b"<html><head><meta charset=\"windows-1251\"></head><body>".to_vec();
        doc.extend_from_slice(&cp);
        assert_eq!(
            detect(&doc, Some("text/html")),
            (WINDOWS_1251, CharsetSource::Meta)
        );
        let meta2 = b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=gbk\">";
        assert_eq!(detect(meta2, None).0, GBK);
        assert_eq!(detect(&cp, None), (WINDOWS_1251, CharsetSource::Sniffed));
        let (gb, _, _) = GBK.encode("这是一个测试文本，我们在这里讨论天气和新闻。");
        assert_eq!(detect(&gb, None), (GBK, CharsetSource::Sniffed));
        assert_eq!(detect("héllo".as_bytes(), None).0, UTF_8);
        assert_eq!(
            detect(b"\xEF\xBB\xBFabc", Some("text/html; charset=gbk")).1,
            CharsetSource::Bom
        );
    }
}
