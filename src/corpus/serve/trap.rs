//! The crawler trap: an endless calendar under `/calendar/` on every forum host.
//!
//! `/calendar/` shows the month the scenario's time span starts in (from the manifest; a
//! manifest without it opens on [`BASE_YEAR`]/[`BASE_MONTH`]), so the trap looks like the
//! board's own calendar;
//! `/calendar/YYYY/MM/` a month grid whose days link to `/calendar/YYYY/MM/DD/` and whose
//! prev/next links step one month in either direction, without end; day pages link to the
//! neighbouring days and back to their month. Every page is ASCII, so it is valid in any of the
//! corpus charsets. Non-canonical spellings (`/calendar/2024/6/`, month 13, day 31 of June) are
//! 404, so a crawler that normalises URLs still meets only genuinely new pages.

use std::fmt::Write as _;

/// Year shown at `/calendar/` when the manifest does not give the scenario's start.
pub const BASE_YEAR: i64 = 2024;
/// Month shown at `/calendar/` when the manifest does not give the scenario's start.
pub const BASE_MONTH: u32 = 6;
/// Largest year the trap answers (keeps the arithmetic far from overflow; still "forever").
pub const MAX_YEAR: i64 = 999_999_999;

/// What a `/calendar/...` path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarPage {
    /// A month grid.
    Month(i64, u32),
    /// A day page.
    Day(i64, u32, u32),
}

/// The month `/calendar/` opens on: that of `start` (the scenario's), else the fixed default.
pub fn opening_month(start: Option<time::OffsetDateTime>) -> (i64, u32) {
    start
        .map(|t| (i64::from(t.year()), u32::from(u8::from(t.month()))))
        .filter(|(y, _)| (1..=MAX_YEAR).contains(y))
        .unwrap_or((BASE_YEAR, BASE_MONTH))
}

/// Parses a decoded request path; `None` if it is not a canonical calendar URL. `/calendar/`
/// itself is the month `opening` (see [`opening_month`]).
pub fn parse(path: &str, opening: (i64, u32)) -> Option<CalendarPage> {
    let rest = path.strip_prefix("/calendar/")?;
    if rest.is_empty() {
        return Some(CalendarPage::Month(opening.0, opening.1));
    }
    let rest = rest.strip_suffix('/')?;
    let parts: Vec<&str> = rest.split('/').collect();
    let year = parts.first().and_then(|y| parse_year(y))?;
    let month = parts
        .get(1)
        .and_then(|m| parse_two(m))
        .filter(|m| (1..=12).contains(m))?;
    match parts.len() {
        2 => Some(CalendarPage::Month(year, month)),
        3 => {
            let day =
                parse_two(parts[2]).filter(|d| *d >= 1 && *d <= days_in_month(year, month))?;
            Some(CalendarPage::Day(year, month, day))
        }
        _ => None,
    }
}

fn parse_year(s: &str) -> Option<i64> {
    let canonical = s.len() >= 4 && (s.len() == 4 || !s.starts_with('0'));
    if !canonical || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok().filter(|y| (1..=MAX_YEAR).contains(y))
}

fn parse_two(s: &str) -> Option<u32> {
    if s.len() != 2 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Days in a month of the proleptic Gregorian calendar.
pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Day of the week, 0 = Monday (Sakamoto's method, valid for every positive year).
pub fn weekday(y: i64, m: u32, d: u32) -> u32 {
    const T: [i64; 12] = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
    let y = if m < 3 { y - 1 } else { y };
    let sunday0 = (y + y / 4 - y / 100 + y / 400 + T[(m - 1) as usize] + d as i64).rem_euclid(7);
    ((sunday0 + 6) % 7) as u32
}

fn month_url(y: i64, m: u32) -> String {
    format!("/calendar/{y:04}/{m:02}/")
}

fn day_url(y: i64, m: u32, d: u32) -> String {
    format!("/calendar/{y:04}/{m:02}/{d:02}/")
}

fn prev_month(y: i64, m: u32) -> Option<(i64, u32)> {
    match m {
        1 if y > 1 => Some((y - 1, 12)),
        1 => None,
        _ => Some((y, m - 1)),
    }
}

fn next_month(y: i64, m: u32) -> Option<(i64, u32)> {
    match m {
        12 if y < MAX_YEAR => Some((y + 1, 1)),
        12 => None,
        _ => Some((y, m + 1)),
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn head(out: &mut String, charset: &str, title: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html><head><meta charset=\"{charset}\"><title>{title} - Board calendar</title></head>\n<body class=\"calendar\">\n<p><a href=\"/\">Board index</a> &gt; <a href=\"/calendar/\">Calendar</a></p>\n<h1>{title}</h1>\n"
    );
}

/// Renders a calendar page as HTML (ASCII only).
pub fn render(page: CalendarPage, charset: &str) -> String {
    let mut out = String::with_capacity(4096);
    match page {
        CalendarPage::Month(y, m) => {
            head(
                &mut out,
                charset,
                &format!("{} {y:04}", MONTHS[(m - 1) as usize]),
            );
            out.push_str("<p class=\"nav\">");
            if let Some((py, pm)) = prev_month(y, m) {
                let _ = write!(
                    out,
                    "<a rel=\"prev\" href=\"{}\">&laquo; previous month</a> ",
                    month_url(py, pm)
                );
            }
            if let Some((ny, nm)) = next_month(y, m) {
                let _ = write!(
                    out,
                    "<a rel=\"next\" href=\"{}\">next month &raquo;</a>",
                    month_url(ny, nm)
                );
            }
            out.push_str("</p>\n<table class=\"month\">\n<tr><th>Mon</th><th>Tue</th><th>Wed</th><th>Thu</th><th>Fri</th><th>Sat</th><th>Sun</th></tr>\n<tr>");
            let lead = weekday(y, m, 1);
            for _ in 0..lead {
                out.push_str("<td></td>");
            }
            let mut col = lead;
            for d in 1..=days_in_month(y, m) {
                if col == 7 {
                    out.push_str("</tr>\n<tr>");
                    col = 0;
                }
                let _ = write!(out, "<td><a href=\"{}\">{d}</a></td>", day_url(y, m, d));
                col += 1;
            }
            out.push_str("</tr>\n</table>\n<p>No events this month.</p>\n");
        }
        CalendarPage::Day(y, m, d) => {
            head(
                &mut out,
                charset,
                &format!("{d} {} {y:04}", MONTHS[(m - 1) as usize]),
            );
            out.push_str("<p class=\"nav\">");
            let prev = if d > 1 {
                Some((y, m, d - 1))
            } else {
                prev_month(y, m).map(|(py, pm)| (py, pm, days_in_month(py, pm)))
            };
            let next = if d < days_in_month(y, m) {
                Some((y, m, d + 1))
            } else {
                next_month(y, m).map(|(ny, nm)| (ny, nm, 1))
            };
            if let Some((py, pm, pd)) = prev {
                let _ = write!(
                    out,
                    "<a rel=\"prev\" href=\"{}\">&laquo; previous day</a> ",
                    day_url(py, pm, pd)
                );
            }
            let _ = write!(out, "<a href=\"{}\">month view</a>", month_url(y, m));
            if let Some((ny, nm, nd)) = next {
                let _ = write!(
                    out,
                    " <a rel=\"next\" href=\"{}\">next day &raquo;</a>",
                    day_url(ny, nm, nd)
                );
            }
            out.push_str("</p>\n<p>No events on this day.</p>\n");
        }
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_canonical_urls_only() {
        assert_eq!(
            parse("/calendar/", opening_month(None)),
            Some(CalendarPage::Month(BASE_YEAR, BASE_MONTH))
        );
        let start = crate::model::parse_rfc3339("2015-10-01T00:00:00Z");
        assert_eq!(
            parse("/calendar/", opening_month(start)),
            Some(CalendarPage::Month(2015, 10))
        );
        assert_eq!(
            parse("/calendar/2024/02/", (1, 1)),
            Some(CalendarPage::Month(2024, 2))
        );
        assert_eq!(
            parse("/calendar/2024/02/29/", (1, 1)),
            Some(CalendarPage::Day(2024, 2, 29))
        );
        assert_eq!(
            parse("/calendar/12345/11/", (1, 1)),
            Some(CalendarPage::Month(12345, 11))
        );
        for bad in [
            "/calendar/2023/02/29/",
            "/calendar/2024/13/",
            "/calendar/2024/2/",
            "/calendar/02024/01/",
            "/calendar/2024/01",
            "/calendar/0000/01/",
            "/calendar/2024/01/01/x/",
            "/calendar/abcd/01/",
            "/calendar/99999999999999999999/01/",
        ] {
            assert_eq!(parse(bad, (2015, 10)), None, "{bad}");
        }
    }

    #[test]
    fn weekdays_are_right() {
        assert_eq!(weekday(2024, 6, 1), 5); // Saturday
        assert_eq!(weekday(2000, 1, 1), 5); // Saturday
        assert_eq!(weekday(2026, 11, 29), 6); // Sunday
    }

    #[test]
    fn months_link_onwards_across_years() {
        let html = render(CalendarPage::Month(2024, 12), "utf-8");
        assert!(html.contains("href=\"/calendar/2025/01/\""));
        assert!(html.contains("href=\"/calendar/2024/11/\""));
        assert!(html.contains("href=\"/calendar/2024/12/31/\""));
        let day = render(CalendarPage::Day(2024, 12, 31), "gbk");
        assert!(day.contains("href=\"/calendar/2025/01/01/\""));
        assert!(day.contains("charset=\"gbk\""));
        assert!(html.is_ascii() && day.is_ascii());
    }
}
