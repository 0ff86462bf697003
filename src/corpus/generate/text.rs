//! Post texts: templates from the phrase banks, filled from the scenario, composed into bodies.
//!
//! A body is a list of lines (rendered as paragraphs); a line is a list of pieces. Pieces know
//! what they are: plain text, a *signal* (an organisation name, short name, slogan, hashtag,
//! leader, or a cue word of a violating template), a mention (a link to an account) or a hashtag.
//! Obfuscations are applied to signal pieces only, and a piece can ask for some of its characters
//! to be written as HTML character references in the markup (the text itself is unchanged).
//!
//! Cue words: the words of a violating template's own text (not its placeholders) that never
//! occur in the language's everyday chatter — the words that make the template violating.

use std::collections::HashSet;

use rand::{Rng, RngExt};

use super::super::obfuscate::{self, is_word_char};
use super::super::scenario::{Leaders, NegKind, Organisation, PerLang, Scenario};
use crate::model::{Category, Lang, Phenomenon};

/// What a piece of text is.
#[derive(Debug, Clone, PartialEq)]
pub enum PieceKind {
    /// Ordinary text.
    Plain,
    /// A signal word or phrase (obfuscations apply here).
    Signal,
    /// `@handle` linking to an account (index into the host's accounts).
    Mention(usize),
    /// A hashtag of an organisation.
    Tag,
}

/// A run of text of one kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    /// The text as the reader sees it.
    pub text: String,
    /// Its kind.
    pub kind: PieceKind,
    /// Char indices written as character references in the markup.
    pub ents: Vec<usize>,
}

impl Piece {
    fn new(text: impl Into<String>, kind: PieceKind) -> Piece {
        Piece {
            text: text.into(),
            kind,
            ents: Vec::new(),
        }
    }
}

/// One paragraph.
pub type Line = Vec<Piece>;

/// A post body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Body {
    /// Paragraphs.
    pub lines: Vec<Line>,
    /// Entity style for `ents` (0 decimal, 1 hex, 2 named).
    pub ent_style: u8,
}

impl Body {
    /// Plain text: pieces concatenated, paragraphs joined by a blank line.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for (i, l) in self.lines.iter().enumerate() {
            if i > 0 {
                s.push_str("\n\n");
            }
            for p in l {
                s.push_str(&p.text);
            }
        }
        s
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Ph {
    Org,
    OrgShort,
    Slogan,
    Hashtag,
    Leader,
    Town,
    Lookalike,
    User,
    Amount,
}

#[derive(Debug, Clone)]
enum Tok {
    /// Literal text; `true` marks a cue word.
    Lit(String, bool),
    Ph(Ph),
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    toks: Vec<Tok>,
}

impl Template {
    fn parse(t: &str, cue_vocab: Option<&HashSet<String>>) -> Template {
        let mut toks = Vec::new();
        let mut rest = t;
        fn push_lit(s: &str, toks: &mut Vec<Tok>, cue_vocab: Option<&HashSet<String>>) {
            if s.is_empty() {
                return;
            }
            // Bracketed text ("[instructions withheld: ...]") is an editorial marker, never a cue.
            if let Some(open) = s.find('[')
                && let Some(close) = s[open..].find(']').map(|c| open + c)
                && cue_vocab.is_some()
            {
                push_lit(&s[..open], toks, cue_vocab);
                toks.push(Tok::Lit(s[open..=close].to_string(), false));
                push_lit(&s[close + 1..], toks, cue_vocab);
                return;
            }
            match cue_vocab {
                None => toks.push(Tok::Lit(s.to_string(), false)),
                Some(vocab) => {
                    // Split into word / non-word runs; cue words are long-ish unseen words.
                    let mut start = 0;
                    let mut in_word = None;
                    for (i, c) in s.char_indices() {
                        let w = is_word_char(c);
                        if in_word != Some(w) {
                            if i > start {
                                let run = &s[start..i];
                                toks.push(Tok::Lit(run.to_string(), is_cue(run, vocab)));
                            }
                            start = i;
                            in_word = Some(w);
                        }
                    }
                    let run = &s[start..];
                    if !run.is_empty() {
                        toks.push(Tok::Lit(run.to_string(), is_cue(run, vocab)));
                    }
                }
            }
        }
        while let Some(i) = rest.find('{') {
            let after = &rest[i + 1..];
            let ph = after.find('}').and_then(|j| {
                let p = match &after[..j] {
                    "org" => Ph::Org,
                    "org_short" => Ph::OrgShort,
                    "slogan" => Ph::Slogan,
                    "hashtag" => Ph::Hashtag,
                    "leader" => Ph::Leader,
                    "town" => Ph::Town,
                    "lookalike" => Ph::Lookalike,
                    "user" => Ph::User,
                    "amount" => Ph::Amount,
                    _ => return None,
                };
                Some((p, j))
            });
            match ph {
                Some((p, j)) => {
                    push_lit(&rest[..i], &mut toks, cue_vocab);
                    toks.push(Tok::Ph(p));
                    rest = &after[j + 1..];
                }
                None => {
                    push_lit(&rest[..=i], &mut toks, cue_vocab);
                    rest = after;
                }
            }
        }
        push_lit(rest, &mut toks, cue_vocab);
        Template { toks }
    }
}

fn is_cue(run: &str, vocab: &HashSet<String>) -> bool {
    let mut cs = run.chars();
    let first = cs.next();
    first.is_some_and(is_word_char)
        && run.chars().count() >= 4
        && !run.chars().all(|c| c.is_numeric())
        && !vocab.contains(&run.to_lowercase())
}

/// Words of chatter lines, lowercased.
fn vocabulary(lines: &[String]) -> HashSet<String> {
    let mut v = HashSet::new();
    for l in lines {
        for w in l.split(|c: char| !is_word_char(c)) {
            if !w.is_empty() {
                v.insert(w.to_lowercase());
            }
        }
    }
    v
}

/// Writing system of a language's bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// Latin.
    Latn,
    /// Cyrillic.
    Cyrl,
    /// Arabic.
    Arab,
    /// Simplified Han.
    Hans,
    /// Devanagari.
    Deva,
}

impl Script {
    fn parse(s: &str) -> Script {
        match s {
            "Cyrl" => Script::Cyrl,
            "Arab" => Script::Arab,
            "Hans" => Script::Hans,
            "Deva" => Script::Deva,
            _ => Script::Latn,
        }
    }

    /// Whether `c` is a letter of this script.
    pub fn has(self, c: char) -> bool {
        match self {
            Script::Latn => c.is_alphabetic() && (c as u32) < 0x0250,
            Script::Cyrl => obfuscate::is_cyrillic(c),
            Script::Arab => ('\u{0600}'..='\u{06FF}').contains(&c),
            Script::Hans => ('\u{4E00}'..='\u{9FFF}').contains(&c),
            Script::Deva => ('\u{0900}'..='\u{097F}').contains(&c),
        }
    }
}

/// Characters a `long` post (signal buried in chatter) reaches at least: 1,500, or 600 for Han
/// text, which says as much in far fewer characters.
pub fn long_min_chars(script: Script) -> usize {
    match script {
        Script::Hans => 600,
        _ => 1500,
    }
}

/// Everything needed to write texts in one language, prepared once.
#[derive(Debug)]
pub struct LangData {
    /// The language.
    pub lang: Lang,
    /// Its script.
    pub script: Script,
    chatter: Vec<Vec<Template>>,
    negative: Vec<Vec<Template>>,
    violating: Vec<Vec<Template>>,
    org: Vec<String>,
    org_short: Vec<String>,
    slogans: Vec<String>,
    hashtags: Vec<String>,
    leaders: Vec<String>,
    towns: Vec<String>,
    lookalike: Vec<String>,
    /// Given names.
    pub given: Vec<String>,
    /// Family names.
    pub family: Vec<String>,
}

/// Collapses whitespace runs to one space, trims, and drops control characters (which HTML
/// parsers would rewrite).
pub fn norm_ws(s: &str) -> String {
    let s: String = s
        .chars()
        .filter(|c| !c.is_control() || c.is_whitespace())
        .collect();
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn per_lang(m: &PerLang, lang: Lang, any_too: bool) -> Vec<String> {
    let mut v: Vec<String> = m.get(lang.code()).map(|l| l.0.clone()).unwrap_or_default();
    if any_too || v.is_empty() {
        v.extend(m.get("any").map(|l| l.0.clone()).unwrap_or_default());
    }
    v.iter()
        .map(|x| norm_ws(x))
        .filter(|x| !x.is_empty())
        .collect()
}

fn leaders_for(o: &Organisation, lang: Lang, script: Script) -> Vec<String> {
    match &o.leaders {
        Leaders::PerLang(m) => per_lang(m, lang, false),
        Leaders::List(l) => {
            // Prefer forms written in the post's script, else the first (Latin) form.
            let fit: Vec<String> = l
                .iter()
                .filter(|n| {
                    n.chars()
                        .filter(|c| c.is_alphabetic())
                        .all(|c| script.has(c))
                })
                .cloned()
                .collect();
            if fit.is_empty() {
                l.iter().take(1).cloned().collect()
            } else {
                fit
            }
        }
    }
}

impl LangData {
    /// Prepares the texts of `lang` (which must have a bank in `s`).
    pub fn new(s: &Scenario, lang: Lang) -> LangData {
        let bank = &s.banks[&lang];
        let script = Script::parse(&bank.script);
        let all_chatter: Vec<String> = bank.chatter.values().flatten().cloned().collect();
        let vocab = vocabulary(&all_chatter);
        let cue = if script == Script::Hans {
            None
        } else {
            Some(&vocab)
        };
        // Whitespace is normalised (one space, trimmed) so that the text an extractor reads from
        // the markup is exactly the text in posts.jsonl; empty templates are dropped.
        let parse_all = |v: &[String], cue: Option<&HashSet<String>>| {
            v.iter()
                .map(|t| norm_ws(t))
                .filter(|t| !t.is_empty())
                .map(|t| Template::parse(&t, cue))
                .collect::<Vec<_>>()
        };
        let target = s.target();
        let mut org = per_lang(&target.names, lang, false);
        if org.is_empty() {
            org.push(target.canonical.clone());
        }
        let mut org_short = target.short.clone();
        if org_short.is_empty() {
            org_short = org.clone();
        }
        let mut slogans = per_lang(&target.slogans, lang, false);
        if slogans.is_empty() {
            slogans = org.clone();
        }
        let mut hashtags = per_lang(&target.hashtags, lang, true);
        if hashtags.is_empty() {
            hashtags.push(format!(
                "#{}",
                target
                    .canonical
                    .chars()
                    .filter(|c| c.is_alphanumeric())
                    .collect::<String>()
            ));
        }
        let mut leaders = leaders_for(target, lang, script);
        if leaders.is_empty() {
            leaders = org.clone();
        }
        let mut lookalike = s
            .lookalike()
            .map(|o| per_lang(&o.names, lang, false))
            .unwrap_or_default();
        if lookalike.is_empty() {
            lookalike = s
                .lookalike()
                .map(|o| vec![o.canonical.clone()])
                .unwrap_or_default();
        }
        if lookalike.is_empty() {
            lookalike.push("Lantern Festival Club".into());
        }
        let mut towns = per_lang(&s.file.towns, lang, false);
        if towns.is_empty() {
            towns.push("Townsville".into());
        }
        let chatter: Vec<Vec<Template>> = bank
            .chatter
            .values()
            .filter(|v| !v.is_empty())
            .map(|v| parse_all(v, None))
            .collect();
        LangData {
            lang,
            script,
            chatter,
            negative: NegKind::ALL
                .iter()
                .map(|k| parse_all(bank.negative.get(*k), None))
                .collect(),
            violating: Category::ALL
                .iter()
                .map(|c| parse_all(bank.violating.get(*c), cue))
                .collect(),
            org,
            org_short,
            slogans,
            hashtags,
            leaders,
            towns,
            lookalike,
            given: if bank.people.given.is_empty() {
                vec!["Ana".into()]
            } else {
                bank.people.given.clone()
            },
            family: if bank.people.family.is_empty() {
                vec!["Doe".into()]
            } else {
                bank.people.family.clone()
            },
        }
    }
}

/// Uniform pick by `next_u64 % n` (a fixed number of draws, so parallel streams stay aligned).
pub fn pick<'a, T, R: Rng>(v: &'a [T], rng: &mut R) -> Option<&'a T> {
    if v.is_empty() {
        None
    } else {
        v.get((rng.next_u64() % v.len() as u64) as usize)
    }
}

/// Fills templates for one host: mentions pick among `accounts` (indices of the host's accounts).
pub struct Filler<'a> {
    /// The language.
    pub ld: &'a LangData,
    /// Accounts that can be mentioned (indices into `handles`).
    pub accounts: &'a [usize],
    /// Handles of the host's accounts.
    pub handles: &'a [String],
}

impl Filler<'_> {
    fn fill<R: Rng>(&self, t: &Template, rng: &mut R) -> Line {
        let ld = self.ld;
        let mut line: Line = Vec::with_capacity(t.toks.len());
        let push = |mut p: Piece, line: &mut Line| {
            // Templates written as "@{user}": the mention brings its own "@".
            if let PieceKind::Mention(_) = p.kind
                && let Some(last) = line.last_mut()
                && last.kind == PieceKind::Plain
                && last.text.ends_with('@')
            {
                last.text.pop();
                if last.text.is_empty() {
                    line.pop();
                }
                return line.push(p);
            }
            if p.kind == PieceKind::Plain && p.text.is_empty() {
                return;
            }
            p.ents.clear();
            // Merge adjacent plain pieces to keep the markup small.
            if p.kind == PieceKind::Plain
                && let Some(last) = line.last_mut()
                && last.kind == PieceKind::Plain
            {
                last.text.push_str(&p.text);
                return;
            }
            line.push(p);
        };
        for tok in &t.toks {
            let one = |v: &[String], rng: &mut R| pick(v, rng).cloned().unwrap_or_default();
            let p = match tok {
                Tok::Lit(s, cue) => Piece::new(
                    s.clone(),
                    if *cue {
                        PieceKind::Signal
                    } else {
                        PieceKind::Plain
                    },
                ),
                Tok::Ph(Ph::Org) => Piece::new(one(&ld.org, rng), PieceKind::Signal),
                Tok::Ph(Ph::OrgShort) => Piece::new(one(&ld.org_short, rng), PieceKind::Signal),
                Tok::Ph(Ph::Slogan) => Piece::new(one(&ld.slogans, rng), PieceKind::Signal),
                Tok::Ph(Ph::Hashtag) => Piece::new(one(&ld.hashtags, rng), PieceKind::Tag),
                Tok::Ph(Ph::Leader) => Piece::new(one(&ld.leaders, rng), PieceKind::Signal),
                Tok::Ph(Ph::Town) => Piece::new(one(&ld.towns, rng), PieceKind::Plain),
                Tok::Ph(Ph::Lookalike) => Piece::new(one(&ld.lookalike, rng), PieceKind::Plain),
                Tok::Ph(Ph::Amount) => Piece::new(
                    ((5 + rng.next_u64() % 95) * 100).to_string(),
                    PieceKind::Plain,
                ),
                Tok::Ph(Ph::User) => match pick(self.accounts, rng) {
                    Some(&a) => Piece::new(
                        format!(
                            "@{}",
                            self.handles.get(a).map(String::as_str).unwrap_or("user")
                        ),
                        PieceKind::Mention(a),
                    ),
                    None => Piece::new("", PieceKind::Plain),
                },
            };
            push(p, &mut line);
        }
        line
    }

    /// One everyday line.
    pub fn chatter<R: Rng>(&self, rng: &mut R) -> Line {
        let topic = pick(&self.ld.chatter, rng)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        match pick(topic, rng) {
            Some(t) => self.fill(t, rng),
            None => vec![Piece::new("…", PieceKind::Plain)],
        }
    }

    /// A hard negative of `kind`.
    pub fn negative<R: Rng>(&self, kind: NegKind, rng: &mut R) -> Line {
        let i = NegKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        match pick(&self.ld.negative[i], rng) {
            Some(t) => self.fill(t, rng),
            None => self.chatter(rng),
        }
    }

    /// A violating line of category `c`; `shortest` picks the shortest template.
    pub fn violating<R: Rng>(&self, c: Category, shortest: bool, rng: &mut R) -> Line {
        let i = Category::ALL.iter().position(|k| *k == c).unwrap_or(0);
        let ts = &self.ld.violating[i];
        let t = if shortest {
            ts.iter().min_by_key(|t| {
                t.toks
                    .iter()
                    .map(|k| if let Tok::Lit(s, _) = k { s.len() } else { 12 })
                    .sum::<usize>()
            })
        } else {
            pick(ts, rng)
        };
        match t {
            Some(t) => self.fill(t, rng),
            None => vec![
                Piece::new(
                    pick(&self.ld.hashtags, rng).cloned().unwrap_or_default(),
                    PieceKind::Tag,
                ),
                Piece::new(" ", PieceKind::Plain),
                Piece::new(
                    pick(&self.ld.slogans, rng).cloned().unwrap_or_default(),
                    PieceKind::Signal,
                ),
            ],
        }
    }

    /// `#hashtag slogan`: the shortest recognisable violating post.
    pub fn tag_and_slogan<R: Rng>(&self, rng: &mut R) -> Line {
        vec![
            Piece::new(
                pick(&self.ld.hashtags, rng).cloned().unwrap_or_default(),
                PieceKind::Tag,
            ),
            Piece::new(" ", PieceKind::Plain),
            Piece::new(
                pick(&self.ld.slogans, rng).cloned().unwrap_or_default(),
                PieceKind::Signal,
            ),
        ]
    }

    /// A hashtag piece.
    pub fn hashtag<R: Rng>(&self, rng: &mut R) -> Piece {
        Piece::new(
            pick(&self.ld.hashtags, rng).cloned().unwrap_or_default(),
            PieceKind::Tag,
        )
    }
}

/// Obfuscation probabilities (from the scenario).
pub use super::super::scenario::ObfuscationRates;

/// Applies the evasion phenomena to the signal pieces of `lines` (the violating lines), each
/// with its own probability; returns the phenomena that changed something.
pub fn obfuscate<R: Rng>(
    lines: &mut [Line],
    ld: &LangData,
    rates: &ObfuscationRates,
    rng: &mut R,
) -> Vec<Phenomenon> {
    let mut out = Vec::new();
    // Draw every decision up front: a fixed number of draws whatever applies.
    let p_translit = rng.random_bool(rates.translit.clamp(0.0, 1.0));
    let p_homo = rng.random_bool(rates.homoglyph.clamp(0.0, 1.0));
    let p_leet = rng.random_bool(rates.leet.clamp(0.0, 1.0));
    let p_spaced = rng.random_bool(rates.spaced.clamp(0.0, 1.0));
    let p_zw = rng.random_bool(rates.zero_width.clamp(0.0, 1.0));
    let p_ent = rng.random_bool(rates.entities.clamp(0.0, 1.0));
    let sep = [' ', '.', '-', '*'][(rng.next_u64() % 4) as usize];

    if p_translit && ld.script == Script::Cyrl {
        let mut changed = false;
        for p in lines.iter_mut().flatten() {
            if !matches!(p.kind, PieceKind::Mention(_)) {
                let t = obfuscate::translit(&p.text);
                changed |= t != p.text;
                p.text = t;
                p.ents.clear();
            }
        }
        if changed {
            out.push(Phenomenon::Translit);
        }
    }
    let mut apply = |f: &mut dyn FnMut(&str, &mut R) -> String, max: usize, rng: &mut R| -> bool {
        let idx: Vec<(usize, usize)> = lines
            .iter()
            .enumerate()
            .flat_map(|(i, l)| {
                l.iter()
                    .enumerate()
                    .filter(|(_, p)| matches!(p.kind, PieceKind::Signal | PieceKind::Tag))
                    .map(move |(j, _)| (i, j))
            })
            .collect();
        if idx.is_empty() {
            return false;
        }
        let mut changed = false;
        for k in 0..max.min(idx.len()) {
            let (i, j) = idx[(rng.next_u64() as usize + k) % idx.len()];
            let p = &mut lines[i][j];
            let t = f(&p.text, rng);
            if t != p.text {
                changed = true;
                p.text = t;
                p.ents.clear();
            }
        }
        changed
    };
    if p_homo && apply(&mut |w, r| obfuscate::homoglyph(w, r), 2, rng) {
        out.push(Phenomenon::Homoglyph);
    }
    if p_leet && apply(&mut |w, r| obfuscate::leet(w, r), 2, rng) {
        out.push(Phenomenon::Leet);
    }
    if p_spaced
        && apply(
            &mut |w, _| {
                // Space out one word (the longest) of a name or slogan; hashtags stay intact.
                if w.starts_with('#') {
                    return w.to_string();
                }
                let Some(longest) = w
                    .split(' ')
                    .filter(|x| x.chars().count() >= 3)
                    .max_by_key(|x| x.chars().count())
                else {
                    return w.to_string();
                };
                let spaced = obfuscate::spaced(longest, sep);
                w.replacen(longest, &spaced, 1)
            },
            1,
            rng,
        )
    {
        out.push(Phenomenon::Spaced);
    }
    if p_zw && apply(&mut |w, r| obfuscate::zero_width(w, r), 2, rng) {
        out.push(Phenomenon::ZeroWidth);
    }
    if p_ent {
        let mut any = false;
        for p in lines.iter_mut().flatten() {
            if matches!(p.kind, PieceKind::Signal) {
                let n = p.text.chars().count();
                if n > 0 {
                    let a = (rng.next_u64() % n as u64) as usize;
                    let b = (rng.next_u64() % n as u64) as usize;
                    p.ents = if a == b {
                        vec![a]
                    } else {
                        vec![a.min(b), a.max(b)]
                    };
                    // Never encode zero-width or spacing characters (keeps text round-trips exact).
                    let cs: Vec<char> = p.text.chars().collect();
                    p.ents.retain(|&i| {
                        !cs[i].is_whitespace() && !obfuscate::ZERO_WIDTH.contains(&cs[i])
                    });
                    any |= !p.ents.is_empty();
                }
            }
        }
        if any {
            out.push(Phenomenon::Entities);
        }
    }
    out
}

/// Whether any cue word in `lines` is inflected (see [`obfuscate::is_inflected`]).
pub fn inflected(lines: &[Line], lang: Lang) -> bool {
    lines
        .iter()
        .flatten()
        .filter(|p| p.kind == PieceKind::Signal)
        .any(|p| {
            p.text
                .split(|c: char| !is_word_char(c))
                .any(|w| !w.is_empty() && obfuscate::is_inflected(w, lang))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_and_controls_are_normalised() {
        assert_eq!(norm_ws("  a \n\t b\u{0}c  "), "a bc");
    }

    #[test]
    fn template_parse_marks_cues_and_placeholders() {
        let vocab: HashSet<String> = ["the", "weather", "today"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let t = Template::parse("Join the {org} today, brothers! {oops}", Some(&vocab));
        let cues: Vec<&str> = t
            .toks
            .iter()
            .filter_map(|k| match k {
                Tok::Lit(s, true) => Some(s.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(cues, vec!["Join", "brothers", "oops"]);
        assert!(t.toks.iter().any(|k| matches!(k, Tok::Ph(Ph::Org))));
    }
}
