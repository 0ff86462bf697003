//! Dates in the formats sites print -> UTC timestamps.
//!
//! Accepted: RFC 3339 / ISO 8601 (`T` or space, optional seconds, fraction, `Z`/offset),
//! RFC 2822, Unix seconds, `DD.MM.YYYY [HH:MM[:SS]]`, `YYYY/MM/DD ...`, `MM/DD/YYYY ...`
//! (when unambiguous or with `/`), English and Russian month names (`May 3, 2024 5:07 PM`,
//! `3 мая 2024 17:07`), `UTC`/`GMT`/`Z`/`+03:00` zones. No zone = UTC.

use time::format_description::well_known::{Rfc2822, Rfc3339};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

const MONTHS: &[(&str, u8)] = &[
    ("jan", 1),
    ("feb", 2),
    ("mar", 3),
    ("apr", 4),
    ("may", 5),
    ("jun", 6),
    ("jul", 7),
    ("aug", 8),
    ("sep", 9),
    ("oct", 10),
    ("nov", 11),
    ("dec", 12),
    ("янв", 1),
    ("фев", 2),
    ("мар", 3),
    ("апр", 4),
    ("ма", 5),
    ("июн", 6),
    ("июл", 7),
    ("авг", 8),
    ("сен", 9),
    ("окт", 10),
    ("ноя", 11),
    ("дек", 12),
];

/// Parses a date/time string; `None` if no format fits.
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t.to_offset(UtcOffset::UTC));
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc2822) {
        return Some(t.to_offset(UtcOffset::UTC));
    }
    if s.len() >= 9 && s.len() <= 11 && s.bytes().all(|b| b.is_ascii_digit()) {
        return OffsetDateTime::from_unix_timestamp(s.parse().ok()?).ok();
    }
    loose(s)
}

#[derive(Debug)]
enum Tok {
    Num(u32, usize, char),
    Word(String),
    Offset(i32),
}

fn tokens(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let cs: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if c.is_ascii_digit() {
            let st = i;
            while i < cs.len() && cs[i].is_ascii_digit() {
                i += 1;
            }
            let txt: String = cs[st..i].iter().collect();
            let sep = cs.get(i).copied().unwrap_or(' ');
            let v = txt.get(..9).unwrap_or(&txt).parse().unwrap_or(0);
            out.push(Tok::Num(v, i - st, sep));
        } else if (c == '+' || c == '-')
            && i > 0
            && cs[..i].contains(&':')
            && cs.get(i + 1).is_some_and(char::is_ascii_digit)
        {
            let st = i + 1;
            i += 1;
            let mut digits = String::new();
            while i < cs.len() && (cs[i].is_ascii_digit() || cs[i] == ':') {
                if cs[i] != ':' {
                    digits.push(cs[i]);
                }
                i += 1;
            }
            let _ = st;
            let (h, m) = match digits.len() {
                1 | 2 => (digits.parse().unwrap_or(0), 0),
                4 => (
                    digits[..2].parse().unwrap_or(0),
                    digits[2..].parse().unwrap_or(0),
                ),
                _ => (0, 0),
            };
            let sign = if c == '-' { -1 } else { 1 };
            out.push(Tok::Offset(sign * (h * 3600 + m * 60)));
        } else if c.is_alphabetic() {
            let st = i;
            while i < cs.len() && cs[i].is_alphabetic() {
                i += 1;
            }
            out.push(Tok::Word(
                cs[st..i].iter().collect::<String>().to_lowercase(),
            ));
        } else {
            i += 1;
        }
    }
    out
}

fn month_name(w: &str) -> Option<u8> {
    if w == "t" || w.len() < 3 && !w.starts_with('м') {
        return None;
    }
    MONTHS
        .iter()
        .find(|(p, _)| w.starts_with(p))
        .map(|(_, m)| *m)
}

fn loose(s: &str) -> Option<OffsetDateTime> {
    let toks = tokens(s);
    let mut month_word = None;
    let mut pm = None;
    let mut offset = 0i32;
    let mut nums: Vec<(u32, usize, char)> = Vec::new();
    for t in &toks {
        match t {
            Tok::Num(v, l, sep) => nums.push((*v, *l, *sep)),
            Tok::Word(w) => {
                if let Some(m) = month_name(w) {
                    month_word.get_or_insert(m);
                } else if w == "pm" {
                    pm = Some(true);
                } else if w == "am" {
                    pm = Some(false);
                }
            }
            Tok::Offset(o) => offset = *o,
        }
    }
    let (y, mo, d, rest): (i32, u8, u8, &[(u32, usize, char)]) = if let Some(m) = month_word {
        let yi = nums.iter().position(|n| n.1 == 4)?;
        let di = nums.iter().position(|n| n.1 <= 2 && n.2 != ':')?;
        let last = yi.max(di);
        (nums[yi].0 as i32, m, nums[di].0 as u8, &nums[last + 1..])
    } else {
        if nums.len() < 3 {
            return None;
        }
        let (a, b, c) = (nums[0], nums[1], nums[2]);
        if a.1 == 4 {
            (a.0 as i32, b.0 as u8, c.0 as u8, &nums[3..])
        } else if c.1 == 4 {
            if a.2 == '/' && a.0 <= 12 {
                (c.0 as i32, a.0 as u8, b.0 as u8, &nums[3..])
            } else {
                (c.0 as i32, b.0 as u8, a.0 as u8, &nums[3..])
            }
        } else {
            return None;
        }
    };
    let date = Date::from_calendar_date(y, Month::try_from(mo).ok()?, d).ok()?;
    let mut hms = [0u32; 3];
    for (i, n) in rest.iter().take(3).enumerate() {
        hms[i] = n.0;
    }
    if let Some(p) = pm {
        if p && hms[0] < 12 {
            hms[0] += 12;
        } else if !p && hms[0] == 12 {
            hms[0] = 0;
        }
    }
    let time = Time::from_hms(hms[0] as u8, hms[1] as u8, hms[2] as u8).ok()?;
    let off = UtcOffset::from_whole_seconds(offset).ok()?;
    Some(
        PrimitiveDateTime::new(date, time)
            .assume_offset(off)
            .to_offset(UtcOffset::UTC),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rfc3339;

    fn p(s: &str) -> String {
        parse(s).map(rfc3339).unwrap_or_else(|| format!("FAIL {s}"))
    }

    #[test]
    fn formats() {
        assert_eq!(p("2024-05-03T17:07:09Z"), "2024-05-03T17:07:09Z");
        assert_eq!(p("2024-05-03T20:07:09+03:00"), "2024-05-03T17:07:09Z");
        assert_eq!(p("2024-05-03 17:07"), "2024-05-03T17:07:00Z");
        assert_eq!(p("2024-05-03 17:07:09 UTC"), "2024-05-03T17:07:09Z");
        assert_eq!(p("Fri, 03 May 2024 17:07:09 +0000"), "2024-05-03T17:07:09Z");
        assert_eq!(p("03.05.2024 17:07"), "2024-05-03T17:07:00Z");
        assert_eq!(p("2024/05/03 17:07:09"), "2024-05-03T17:07:09Z");
        assert_eq!(p("05/03/2024 5:07 PM"), "2024-05-03T17:07:00Z");
        assert_eq!(p("May 3, 2024 5:07 pm"), "2024-05-03T17:07:00Z");
        assert_eq!(p("3 May 2024, 17:07"), "2024-05-03T17:07:00Z");
        assert_eq!(p("3 мая 2024 17:07"), "2024-05-03T17:07:00Z");
        assert_eq!(p("1714756029"), "2024-05-03T17:07:09Z");
        assert_eq!(p("2024-05-03"), "2024-05-03T00:00:00Z");
        assert_eq!(p("Posted 2024-05-03 17:07 +02:00"), "2024-05-03T15:07:00Z");
        assert!(parse("yesterday").is_none());
        assert!(parse("2024-13-45").is_none());
    }
}
