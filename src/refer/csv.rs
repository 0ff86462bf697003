//! `referrals.csv`: one row per referral (RFC 4180: CRLF line ends, quotes doubled).
//!
//! Cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or CR)
//! get a leading `'`, the usual guard against CSV injection: the content comes from hostile pages.

use super::bundle::Bundle;

/// Column names, in order.
pub const COLUMNS: [&str; 20] = [
    "referral_id",
    "kind",
    "issued_at",
    "deadline_at",
    "host",
    "content_url",
    "post_id",
    "thread",
    "content_language",
    "content_posted_at",
    "scenario_category",
    "tco_reasons",
    "requested_action",
    "automated_detection",
    "automated_decision",
    "reviewers",
    "decided_at",
    "evidence_sha256",
    "captured_at",
    "statement_of_reasons",
];

fn cell(s: &str) -> String {
    let guarded = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if guarded.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// Renders the CSV for a bundle.
pub fn render(bundle: &Bundle) -> String {
    let mut out = COLUMNS.join(",");
    out.push_str("\r\n");
    for r in &bundle.items {
        let row = [
            r.referral_id.clone(),
            r.kind.as_str().to_string(),
            r.issued_at.clone(),
            r.deadline_at.clone().unwrap_or_default(),
            r.host.clone(),
            r.content_url.clone(),
            r.content_locator.post_id.clone(),
            r.content_locator.thread.clone().unwrap_or_default(),
            r.content_language.clone(),
            r.content_posted_at.clone().unwrap_or_default(),
            r.scenario_category.clone(),
            r.tco_reasons.join(";"),
            r.requested_action.clone(),
            r.automated_detection.clone(),
            r.automated_decision.clone(),
            r.review
                .reviewers
                .iter()
                .map(|d| d.reviewer.as_str())
                .collect::<Vec<_>>()
                .join(";"),
            r.review
                .reviewers
                .iter()
                .map(|d| d.decided_at.as_str())
                .collect::<Vec<_>>()
                .join(";"),
            r.evidence.sha256.clone(),
            r.evidence.captured_at.clone(),
            r.statement_of_reasons.clone(),
        ];
        out.push_str(&row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// Parses RFC 4180 CSV into records (for verification and tests).
pub fn parse(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if at_start => {
                quoted = true;
                at_start = false;
            }
            ',' => {
                row.push(std::mem::take(&mut field));
                at_start = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                at_start = true;
            }
            c => {
                field.push(c);
                at_start = false;
            }
        }
    }
    if quoted {
        return Err("unterminated quoted field".into());
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_injection_guard_round_trip() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("plain"), "plain");
        let text = format!("a,b\r\n{},{}\r\n", cell("x,\"y\"\nz"), cell("-1"));
        let rows = parse(&text).unwrap();
        assert_eq!(rows, vec![vec!["a", "b"], vec!["x,\"y\"\nz", "'-1"]]);
    }
}
