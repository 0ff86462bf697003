//! Pack files -> [`PackDef`], reporting every problem with `file:line:column`.
//!
//! The TOML is read with `toml::de::DeTable` (every key and value keeps its byte span), walked by
//! hand so an unknown key, a wrong type or a bad condition is reported where it is, and parsing
//! goes on to find the next problem instead of stopping at the first.

use std::str::FromStr;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::pack::{
    CmpOp, Cond, LexiconDef, PackDef, Pos, Problem, RuleDef, Severity, Source, TermDef,
};
use crate::model::{Category, Lang};

fn err(problems: &mut Vec<Problem>, pos: Pos, message: impl Into<String>) {
    problems.push(Problem {
        severity: Severity::Error,
        pos,
        message: message.into(),
    });
}

/// Offset of a string value's first content char (skips the opening quote(s)).
fn content_start(src: &Source, span: std::ops::Range<usize>) -> usize {
    let t = &src.text[span.start.min(src.text.len())..span.end.min(src.text.len())];
    if t.starts_with("\"\"\"") || t.starts_with("'''") {
        span.start + 3
    } else if t.starts_with('"') || t.starts_with('\'') {
        span.start + 1
    } else {
        span.start
    }
}

fn as_str<'a>(
    src: &Source,
    v: &'a Spanned<DeValue<'_>>,
    what: &str,
    problems: &mut Vec<Problem>,
) -> Option<&'a str> {
    match v.get_ref() {
        DeValue::String(s) => Some(s.as_ref()),
        other => {
            err(
                problems,
                src.pos(v.span().start),
                format!("{what} must be a string, not {}", other.type_str()),
            );
            None
        }
    }
}

fn as_num(
    src: &Source,
    v: &Spanned<DeValue<'_>>,
    what: &str,
    problems: &mut Vec<Problem>,
) -> Option<f32> {
    let parsed = match v.get_ref() {
        DeValue::Float(f) => f.as_str().replace('_', "").parse::<f32>().ok(),
        DeValue::Integer(i) => i.as_str().replace('_', "").parse::<f32>().ok(),
        _ => None,
    };
    if parsed.is_none() {
        err(
            problems,
            src.pos(v.span().start),
            format!("{what} must be a number"),
        );
    }
    parsed
}

fn str_list(
    src: &Source,
    v: &Spanned<DeValue<'_>>,
    what: &str,
    problems: &mut Vec<Problem>,
) -> Vec<(String, Pos)> {
    let mut out = Vec::new();
    match v.get_ref() {
        DeValue::Array(a) => {
            for item in a.iter() {
                if let Some(s) = as_str(src, item, what, problems) {
                    out.push((s.to_string(), src.pos(content_start(src, item.span()))));
                }
            }
        }
        DeValue::String(s) => out.push((s.to_string(), src.pos(content_start(src, v.span())))),
        other => err(
            problems,
            src.pos(v.span().start),
            format!("{what} must be a list of strings, not {}", other.type_str()),
        ),
    }
    out
}

/// Parses one pack file into `pack` (packs given together share one namespace).
pub fn parse_file(src: &Source, pack: &mut PackDef, problems: &mut Vec<Problem>) {
    let (root, errors) = DeTable::parse_recoverable(&src.text);
    for e in &errors {
        let off = e.span().map(|s| s.start).unwrap_or(0);
        err(problems, src.pos(off), format!("TOML: {}", e.message()));
    }
    if !errors.is_empty() {
        return;
    }
    for (k, v) in root.get_ref().iter() {
        let kpos = src.pos(k.span().start);
        match k.get_ref().as_ref() {
            "pack" => parse_pack_table(src, v, pack, problems),
            "lexicons" => match v.get_ref() {
                DeValue::Table(t) => {
                    for (name, lv) in t.iter() {
                        parse_lexicon(src, name, lv, pack, problems);
                    }
                }
                _ => err(problems, kpos, "`lexicons` must be a table of lexicons"),
            },
            "rules" => match v.get_ref() {
                DeValue::Array(a) => {
                    for r in a.iter() {
                        parse_rule(src, r, pack, problems);
                    }
                }
                _ => err(
                    problems,
                    kpos,
                    "`rules` must be an array of tables ([[rules]])",
                ),
            },
            other => err(
                problems,
                kpos,
                format!("unknown top-level key `{other}` (expected pack, lexicons, rules)"),
            ),
        }
    }
}

fn parse_pack_table(
    src: &Source,
    v: &Spanned<DeValue<'_>>,
    pack: &mut PackDef,
    problems: &mut Vec<Problem>,
) {
    let DeValue::Table(t) = v.get_ref() else {
        err(problems, src.pos(v.span().start), "`pack` must be a table");
        return;
    };
    for (k, v) in t.iter() {
        let kpos = src.pos(k.span().start);
        match k.get_ref().as_ref() {
            "name" => {
                if let Some(s) = as_str(src, v, "pack.name", problems) {
                    if !pack.name.is_empty() && pack.name != s {
                        pack.name.push('+');
                        pack.name.push_str(s);
                    } else {
                        pack.name = s.to_string();
                    }
                }
            }
            "description" => {
                if let Some(s) = as_str(src, v, "pack.description", problems) {
                    pack.description = s.to_string();
                }
            }
            "threshold" => {
                if let Some(x) = as_num(src, v, "pack.threshold", problems) {
                    if !(0.0..=1.0).contains(&x) {
                        err(
                            problems,
                            src.pos(v.span().start),
                            "threshold must be in [0, 1]",
                        );
                    } else {
                        pack.threshold = Some(pack.threshold.map_or(x, |t| t.min(x)));
                    }
                }
            }
            "languages" => {
                for (code, pos) in str_list(src, v, "pack.languages", problems) {
                    match Lang::from_str(&code) {
                        Ok(l) if l != Lang::Und => {
                            if !pack.languages.contains(&l) {
                                pack.languages.push(l)
                            }
                        }
                        _ => err(problems, pos, format!("unknown language `{code}`")),
                    }
                }
            }
            other => err(
                problems,
                kpos,
                format!(
                    "unknown key `{other}` in [pack] (expected name, description, threshold, languages)"
                ),
            ),
        }
    }
}

fn parse_lexicon(
    src: &Source,
    name: &Spanned<std::borrow::Cow<'_, str>>,
    v: &Spanned<DeValue<'_>>,
    pack: &mut PackDef,
    problems: &mut Vec<Problem>,
) {
    let npos = src.pos(name.span().start);
    let DeValue::Table(t) = v.get_ref() else {
        err(
            problems,
            npos,
            format!("lexicon `{}` must be a table", name.get_ref()),
        );
        return;
    };
    if !valid_ident(name.get_ref()) {
        err(
            problems,
            npos.clone(),
            format!(
                "lexicon name `{}` must be letters, digits, `_` or `-`",
                name.get_ref()
            ),
        );
    }
    let idx = match pack
        .lexicons
        .iter()
        .position(|l| l.name == name.get_ref().as_ref())
    {
        Some(i) => i,
        None => {
            pack.lexicons.push(LexiconDef {
                name: name.get_ref().to_string(),
                pos: npos.clone(),
                description: String::new(),
                exception: false,
                terms: Vec::new(),
            });
            pack.lexicons.len() - 1
        }
    };
    for (k, v) in t.iter() {
        let kpos = src.pos(k.span().start);
        let key = k.get_ref().as_ref();
        match key {
            "description" => {
                if let Some(s) = as_str(src, v, "description", problems) {
                    pack.lexicons[idx].description = s.to_string();
                }
            }
            "exception" => match v.get_ref() {
                DeValue::Boolean(b) => pack.lexicons[idx].exception = *b,
                _ => err(problems, kpos, "`exception` must be true or false"),
            },
            _ => {
                let lang = if key == "any" {
                    None
                } else {
                    match Lang::from_str(key) {
                        Ok(l) if l != Lang::Und => Some(l),
                        _ => {
                            err(
                                problems,
                                kpos,
                                format!(
                                    "unknown language `{key}` (use an ISO 639-1 code or `any`)"
                                ),
                            );
                            continue;
                        }
                    }
                };
                for (raw, pos) in str_list(src, v, "terms", problems) {
                    pack.lexicons[idx].terms.push(TermDef { raw, lang, pos });
                }
            }
        }
    }
}

fn valid_ident(s: &str) -> bool {
    let mut it = s.chars();
    it.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && it.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn parse_rule(
    src: &Source,
    v: &Spanned<DeValue<'_>>,
    pack: &mut PackDef,
    problems: &mut Vec<Problem>,
) {
    let rpos = src.pos(v.span().start);
    let DeValue::Table(t) = v.get_ref() else {
        err(problems, rpos, "each [[rules]] entry must be a table");
        return;
    };
    let mut r = RuleDef {
        id: String::new(),
        pos: rpos.clone(),
        description: String::new(),
        why: String::new(),
        category: Category::Propaganda,
        weight: 0.0,
        when: String::new(),
        cond: None,
        matches: Vec::new(),
        no_matches: Vec::new(),
        false_positives: Vec::new(),
    };
    let (mut has_cat, mut has_w) = (false, false);
    for (k, v) in t.iter() {
        let kpos = src.pos(k.span().start);
        match k.get_ref().as_ref() {
            "id" => {
                if let Some(s) = as_str(src, v, "id", problems) {
                    r.id = s.to_string();
                    r.pos = src.pos(content_start(src, v.span()));
                }
            }
            "description" => {
                r.description = as_str(src, v, "description", problems).unwrap_or("").into()
            }
            "why" => r.why = as_str(src, v, "why", problems).unwrap_or("").into(),
            "category" => {
                if let Some(s) = as_str(src, v, "category", problems) {
                    match Category::from_str(s) {
                        Ok(c) => {
                            r.category = c;
                            has_cat = true;
                        }
                        Err(e) => err(problems, src.pos(v.span().start), e),
                    }
                }
            }
            "weight" => {
                if let Some(w) = as_num(src, v, "weight", problems) {
                    if (0.0..=1.0).contains(&w) {
                        r.weight = w;
                        has_w = true;
                    } else {
                        err(
                            problems,
                            src.pos(v.span().start),
                            "weight must be in [0, 1]",
                        );
                    }
                }
            }
            "when" => {
                if let Some(s) = as_str(src, v, "when", problems) {
                    r.when = s.to_string();
                    let base = content_start(src, v.span());
                    let raw_is_plain = !src.text[v.span()].contains('\\');
                    match parse_cond(s) {
                        Ok(c) => {
                            r.cond = Some(map_cond(c, &|off| {
                                if raw_is_plain {
                                    src.pos(base + off)
                                } else {
                                    src.pos(base)
                                }
                            }))
                        }
                        Err((off, msg)) => err(
                            problems,
                            if raw_is_plain {
                                src.pos(base + off)
                            } else {
                                src.pos(base)
                            },
                            format!("condition: {msg}"),
                        ),
                    }
                }
            }
            "match" => r.matches = str_list(src, v, "match", problems),
            "no_match" => r.no_matches = str_list(src, v, "no_match", problems),
            "false_positives" => {
                r.false_positives = str_list(src, v, "false_positives", problems)
                    .into_iter()
                    .map(|x| x.0)
                    .collect()
            }
            other => err(
                problems,
                kpos,
                format!(
                    "unknown key `{other}` in rule (expected id, description, why, category, weight, when, match, no_match, false_positives)"
                ),
            ),
        }
    }
    for (missing, name) in [
        (r.id.is_empty(), "id"),
        (!has_cat, "category"),
        (!has_w, "weight"),
        (r.when.is_empty(), "when"),
    ] {
        if missing {
            err(problems, rpos.clone(), format!("rule is missing `{name}`"));
        }
    }
    pack.rules.push(r);
}

fn map_cond<F: Fn(usize) -> Pos>(c: Cond<(String, usize)>, f: &F) -> Cond<(String, Pos)> {
    let m = |(s, o): (String, usize)| (s, f(o));
    match c {
        Cond::Lex(l) => Cond::Lex(m(l)),
        Cond::Not(x) => Cond::Not(Box::new(map_cond(*x, f))),
        Cond::And(v) => Cond::And(v.into_iter().map(|x| map_cond(x, f)).collect()),
        Cond::Or(v) => Cond::Or(v.into_iter().map(|x| map_cond(x, f)).collect()),
        Cond::Near { a, b, n, ordered } => Cond::Near {
            a: m(a),
            b: m(b),
            n,
            ordered,
        },
        Cond::Count { lex, op, k } => Cond::Count { lex: m(lex), op, k },
        Cond::Lang(l) => Cond::Lang(l),
        Cond::Quoted(l) => Cond::Quoted(m(l)),
        Cond::Free { a, b, n } => Cond::Free {
            a: m(a),
            b: m(b),
            n,
        },
    }
}

#[derive(Debug, Clone, PartialEq)]
enum T {
    Ident(String),
    Num(u32),
    LParen,
    RParen,
    Comma,
    Op(CmpOp),
}

fn lex(s: &str) -> Result<Vec<(T, usize)>, (usize, String)> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'(' {
            out.push((T::LParen, i));
            i += 1;
        } else if c == b')' {
            out.push((T::RParen, i));
            i += 1;
        } else if c == b',' {
            out.push((T::Comma, i));
            i += 1;
        } else if c == b'>' || c == b'<' || c == b'=' {
            let two = b.get(i + 1) == Some(&b'=');
            let op = match (c, two) {
                (b'>', true) => CmpOp::Ge,
                (b'>', false) => CmpOp::Gt,
                (b'<', true) => CmpOp::Le,
                (b'<', false) => CmpOp::Lt,
                (b'=', true) => CmpOp::Eq,
                _ => return Err((i, "expected `==`".into())),
            };
            out.push((T::Op(op), i));
            i += if two { 2 } else { 1 };
        } else if c.is_ascii_digit() {
            let st = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let n = s[st..i]
                .parse()
                .map_err(|_| (st, "number too large".to_string()))?;
            out.push((T::Num(n), st));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let st = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-') {
                i += 1;
            }
            out.push((T::Ident(s[st..i].to_string()), st));
        } else {
            let ch = s[i..].chars().next().unwrap_or('?');
            return Err((i, format!("unexpected character `{ch}`")));
        }
    }
    Ok(out)
}

struct P {
    toks: Vec<(T, usize)>,
    i: usize,
    end: usize,
    depth: usize,
}

type PResult<X> = Result<X, (usize, String)>;
/// A lexicon name and its byte offset in the condition.
type Named = (String, usize);

impl P {
    fn peek(&self) -> Option<&T> {
        self.toks.get(self.i).map(|t| &t.0)
    }
    fn off(&self) -> usize {
        self.toks.get(self.i).map_or(self.end, |t| t.1)
    }
    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(T::Ident(s)) if s == kw)
    }
    fn expect(&mut self, t: T, what: &str) -> PResult<()> {
        if self.peek() == Some(&t) {
            self.i += 1;
            Ok(())
        } else {
            Err((self.off(), format!("expected {what}")))
        }
    }
    fn ident(&mut self) -> PResult<Named> {
        match self.toks.get(self.i) {
            Some((T::Ident(s), o)) if !is_keyword(s) => {
                self.i += 1;
                Ok((s.clone(), *o))
            }
            _ => Err((self.off(), "expected a lexicon name".into())),
        }
    }
    /// `(a, b, n)` after `near`, `before` or `free`.
    fn two_lexicons_and_n(&mut self, name: &str) -> PResult<(Named, Named, u32)> {
        self.expect(T::LParen, &format!("`(` after {name}"))?;
        let a = self.ident()?;
        self.expect(T::Comma, "`,`")?;
        let b = self.ident()?;
        self.expect(T::Comma, "`,`")?;
        let n = self.num()?;
        self.expect(T::RParen, "`)`")?;
        Ok((a, b, n))
    }

    fn num(&mut self) -> PResult<u32> {
        match self.toks.get(self.i) {
            Some((T::Num(n), _)) => {
                self.i += 1;
                Ok(*n)
            }
            _ => Err((self.off(), "expected a number".into())),
        }
    }
    fn or(&mut self) -> PResult<Cond<(String, usize)>> {
        let mut v = vec![self.and()?];
        while self.is_kw("or") {
            self.i += 1;
            v.push(self.and()?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Cond::Or(v)
        })
    }
    fn and(&mut self) -> PResult<Cond<(String, usize)>> {
        let mut v = vec![self.not()?];
        while self.is_kw("and") {
            self.i += 1;
            v.push(self.not()?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Cond::And(v)
        })
    }
    fn not(&mut self) -> PResult<Cond<(String, usize)>> {
        if self.is_kw("not") {
            self.i += 1;
            self.depth += 1;
            if self.depth > 64 {
                return Err((self.off(), "condition nested too deeply".into()));
            }
            let c = self.not()?;
            self.depth -= 1;
            return Ok(Cond::Not(Box::new(c)));
        }
        self.atom()
    }
    fn atom(&mut self) -> PResult<Cond<(String, usize)>> {
        let off = self.off();
        match self.peek().cloned() {
            Some(T::LParen) => {
                self.i += 1;
                self.depth += 1;
                if self.depth > 64 {
                    return Err((off, "condition nested too deeply".into()));
                }
                let c = self.or()?;
                self.depth -= 1;
                self.expect(T::RParen, "`)`")?;
                Ok(c)
            }
            Some(T::Ident(s)) if s == "near" || s == "before" => {
                self.i += 1;
                let (a, b, n) = self.two_lexicons_and_n("near/before")?;
                Ok(Cond::Near {
                    a,
                    b,
                    n,
                    ordered: s == "before",
                })
            }
            Some(T::Ident(s)) if s == "free" => {
                self.i += 1;
                let (a, b, n) = self.two_lexicons_and_n("free")?;
                Ok(Cond::Free { a, b, n })
            }
            Some(T::Ident(s)) if s == "quoted" => {
                self.i += 1;
                self.expect(T::LParen, "`(` after quoted")?;
                let a = self.ident()?;
                self.expect(T::RParen, "`)`")?;
                Ok(Cond::Quoted(a))
            }
            Some(T::Ident(s)) if s == "sentence" => {
                self.i += 1;
                self.expect(T::LParen, "`(` after sentence")?;
                let a = self.ident()?;
                self.expect(T::Comma, "`,`")?;
                let b = self.ident()?;
                self.expect(T::RParen, "`)`")?;
                Ok(Cond::Near {
                    a,
                    b,
                    n: SAME_SENTENCE,
                    ordered: false,
                })
            }
            Some(T::Ident(s)) if s == "count" => {
                self.i += 1;
                self.expect(T::LParen, "`(` after count")?;
                let lex = self.ident()?;
                self.expect(T::RParen, "`)`")?;
                let op = match self.peek() {
                    Some(T::Op(op)) => *op,
                    _ => {
                        return Err((
                            self.off(),
                            "expected a comparison (>=, >, <=, <, ==)".into(),
                        ));
                    }
                };
                self.i += 1;
                let k = self.num()?;
                Ok(Cond::Count { lex, op, k })
            }
            Some(T::Ident(s)) if s == "lang" => {
                self.i += 1;
                self.expect(T::LParen, "`(` after lang")?;
                let mut langs = Vec::new();
                loop {
                    let (code, o) = match self.toks.get(self.i) {
                        Some((T::Ident(c), o)) => (c.clone(), *o),
                        _ => return Err((self.off(), "expected a language code".into())),
                    };
                    self.i += 1;
                    match Lang::from_str(&code) {
                        Ok(l) if l != Lang::Und => langs.push(l),
                        _ => return Err((o, format!("unknown language `{code}`"))),
                    }
                    if self.peek() == Some(&T::Comma) {
                        self.i += 1;
                    } else {
                        break;
                    }
                }
                self.expect(T::RParen, "`)`")?;
                Ok(Cond::Lang(langs))
            }
            Some(T::Ident(_)) => Ok(Cond::Lex(self.ident()?)),
            Some(_) => Err((off, "expected a lexicon, `not`, `(` or a function".into())),
            None => Err((off, "unexpected end of condition".into())),
        }
    }
}

/// `near(a, b, SAME_SENTENCE)`: `sentence(a, b)`, any distance within one sentence.
pub const SAME_SENTENCE: u32 = u32::MAX;

fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "sentence"
            | "quoted"
            | "free"
            | "and"
            | "or"
            | "not"
            | "near"
            | "before"
            | "count"
            | "lang"
    )
}

/// Parses a condition; errors carry the byte offset inside the string.
pub fn parse_cond(s: &str) -> Result<Cond<(String, usize)>, (usize, String)> {
    let toks = lex(s)?;
    let mut p = P {
        toks,
        i: 0,
        end: s.len(),
        depth: 0,
    };
    let c = p.or()?;
    if p.i != p.toks.len() {
        return Err((p.off(), "unexpected text after the condition".into()));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn condition_grammar() {
        let c = parse_cond("org and (recruit or near(call, join, 3)) and not news and count(org) >= 2 and lang(ru, kk)")
            .expect("parses");
        let Cond::And(v) = c else { panic!("and") };
        assert_eq!(v.len(), 5);
        assert!(matches!(v[2], Cond::Not(_)));
    }

    #[test]
    fn condition_errors_have_offsets() {
        assert_eq!(parse_cond("org and").unwrap_err().0, 7);
        assert_eq!(parse_cond("org & x").unwrap_err().0, 4);
        assert!(parse_cond("lang(xx)").is_err());
        assert!(parse_cond(&"(".repeat(200)).is_err());
    }

    #[test]
    fn positions_point_at_the_problem() {
        let src = Source::new(
            "p.toml",
            "[lexicons.a]\nzz = [\"x\"]\n[[rules]]\nid = \"r\"\ncategory = \"threat\"\nweight = 0.5\nwhen = \"a and\"\n",
        );
        let mut pack = PackDef::default();
        let mut problems = Vec::new();
        parse_file(&src, &mut pack, &mut problems);
        let msgs: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert!(
            msgs.iter()
                .any(|m| m.starts_with("p.toml:2:1: error: unknown language `zz`")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.starts_with("p.toml:7:14: error: condition")),
            "{msgs:?}"
        );
    }
}
