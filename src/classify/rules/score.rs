//! Conditions evaluated over lexicon matches, and the verdict: score = 1 - prod(1 - weight) over
//! fired rules, categories by summed weight, evidence spans on the ORIGINAL text.

use super::compile::{CRule, Compiled};
use super::matcher::{Hit, MatchScratch};
use super::pack::Cond;
use super::parse::SAME_SENTENCE;
use crate::classify::text::{Analyzer, LOW_CONFIDENCE, script_of_lang};
use crate::model::{Category, FiredRule, LangDecision, Match, Span};

/// Max evidence matches reported per rule.
const MAX_EVIDENCE: usize = 8;

struct Ctx<'a> {
    by_lex: &'a [Vec<Hit>],
    c: &'a Compiled,
    d: &'a LangDecision,
    /// Sentence number of every token: `near`/`before` never reach across a sentence end.
    sent: &'a [u32],
    /// Clause number of every token (`free`).
    clause: &'a [u32],
    /// Per token: inside quotation marks.
    quoted: &'a [bool],
    /// Per token: written right after a `#`.
    hash: &'a [bool],
    /// Token window `[lo, hi)` the condition is evaluated in (a paragraph, or the whole post).
    win: (u32, u32),
}

impl Ctx<'_> {
    fn hits(&self, l: u32) -> impl Iterator<Item = &Hit> + '_ {
        let (lo, hi) = self.win;
        self.by_lex[l as usize]
            .iter()
            .filter(move |h| h.start >= lo && h.end <= hi && hashtag_ok(self.c, self.hash, h))
    }

    fn quoted(&self, l: u32) -> bool {
        let mut any = false;
        for h in self.hits(l) {
            if !self.quoted.get(h.start as usize).copied().unwrap_or(false) {
                return false;
            }
            any = true;
        }
        any
    }

    fn sentence(&self, tok: u32) -> u32 {
        self.sent.get(tok as usize).copied().unwrap_or(u32::MAX)
    }

    fn clause(&self, tok: u32) -> u32 {
        self.clause.get(tok as usize).copied().unwrap_or(u32::MAX)
    }

    /// `free(a, b, n)`: some match of `a` with no match of `b` within `n` tokens in its clause.
    fn free(&self, a: u32, b: u32, n: u32) -> bool {
        self.hits(a).any(|x| {
            !self.hits(b).any(|y| {
                self.clause(x.start) == self.clause(y.start)
                    && !contains(x, y)
                    && !contains(y, x)
                    && within(x, y, n, false)
            })
        })
    }
}

/// Sentence and paragraph boundaries of the analysed post, as token numbers.
///
/// A sentence ends at `.`, `!`, `?`, `;` (and their Arabic, Devanagari, Urdu and CJK forms) or a
/// line break between two tokens; a paragraph ends at a line break. Exceptions are scoped with
/// these: `near`/`before`/`sentence` stay within one sentence, and a post of several paragraphs is
/// judged paragraph by paragraph, so a news or negation word in one paragraph of a long post
/// neither masks a violation in another nor does an unrelated paragraph supply a missing cue.
#[derive(Debug, Default)]
pub struct Segments {
    /// Sentence number per token.
    pub sent: Vec<u32>,
    /// Clause number per token: clauses end where sentences do and at commas, colons, dashes
    /// and brackets (the scope of a negation, see `free`).
    pub clause: Vec<u32>,
    /// Paragraph token ranges `[lo, hi)` (one range when the post has a single paragraph).
    pub paras: Vec<(u32, u32)>,
    /// Per token: inside quotation marks.
    pub quoted: Vec<bool>,
    /// Per token: the last non-space character before it is `#` (a hashtag).
    pub hash: Vec<bool>,
    /// Closing marks expected for the quotations open at the current position.
    stack: Vec<&'static [char]>,
}

/// The closing marks of a quotation opened with `c`, if `c` opens one.
fn closers(c: char) -> Option<&'static [char]> {
    Some(match c {
        '«' => &['»'],
        '‹' => &['›'],
        '“' => &['”', '“'],
        '„' => &['“', '”'],
        '"' => &['"'],
        '「' => &['」'],
        '『' => &['』'],
        '《' => &['》'],
        '〈' => &['〉'],
        _ => return None,
    })
}

/// Characters that end a sentence.
fn ends_sentence(c: char) -> bool {
    matches!(
        c,
        '.' | '!'
            | '?'
            | ';'
            | '\n'
            | '\r'
            | '؟'
            | '؛'
            | '۔'
            | '।'
            | '॥'
            | '。'
            | '！'
            | '？'
            | '；'
            | '…'
    )
}

/// Characters that end a clause inside a sentence (the scope of a negation).
fn ends_clause(c: char) -> bool {
    matches!(
        c,
        ',' | '،' | '，' | '、' | ':' | '：' | '—' | '–' | '(' | ')' | '（' | '）'
    )
}

/// Spaces and invisible format characters (zero-width, bidi marks) between `#` and a tag.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
}

impl Segments {
    /// Computes the segments of the text `an` last prepared (`original` is the post text).
    pub fn compute(&mut self, an: &Analyzer, original: &str) {
        self.sent.clear();
        self.clause.clear();
        self.paras.clear();
        self.quoted.clear();
        self.hash.clear();
        self.stack.clear();
        let mut scanned = 0usize;
        let mut sent = 0u32;
        let mut clause = 0u32;
        let mut para_lo = 0u32;
        let mut prev_end = 0usize;
        for (i, t) in an.toks.iter().enumerate() {
            let (s, e) = an
                .normalized
                .text
                .original(t.start as usize, t.end as usize);
            if i > 0 {
                let gap = original.get(prev_end..s).unwrap_or("");
                if gap.chars().any(ends_sentence) {
                    sent += 1;
                    clause += 1;
                } else if gap.chars().any(ends_clause) {
                    clause += 1;
                }
                if gap.contains('\n') {
                    self.paras.push((para_lo, i as u32));
                    para_lo = i as u32;
                }
            }
            self.sent.push(sent);
            self.clause.push(clause);
            // Track quotation marks up to the start of this token.
            let gap = original.get(scanned..s).unwrap_or("");
            let mut prev_c: Option<char> = None;
            for (gi, c) in gap.char_indices() {
                let was = prev_c.replace(c);
                if matches!(c, '\'' | '‘' | '’') {
                    // Single quotes double as apostrophes: one only closes right after a word
                    // and only opens right before one, after a space or at the start.
                    let after_word = gi == 0 && i > 0;
                    let before_word = gi + c.len_utf8() == gap.len();
                    let opens = before_word && was.is_none_or(char::is_whitespace) && !after_word;
                    if after_word && self.stack.last().is_some_and(|cl| cl.contains(&c)) {
                        self.stack.pop();
                    } else if opens && c != '’' && self.stack.len() < 16 {
                        self.stack.push(if c == '‘' { &['’'] } else { &['\''] });
                    }
                    continue;
                }
                if self.stack.last().is_some_and(|cl| cl.contains(&c)) {
                    self.stack.pop();
                } else if let Some(cl) = closers(c) {
                    if self.stack.len() < 16 {
                        self.stack.push(cl);
                    }
                } else if c == '\n' && original.get(scanned..s).is_some_and(|g| g.contains("\n\n"))
                {
                    // A blank line closes any quotation left open.
                    self.stack.clear();
                }
            }
            scanned = scanned.max(s).max(e);
            self.quoted.push(!self.stack.is_empty());
            let before = original
                .get(..s)
                .unwrap_or("")
                .trim_end_matches(is_invisible);
            self.hash.push(before.ends_with(['#', '＃']));
            prev_end = e.max(prev_end);
        }
        self.paras.push((para_lo, an.toks.len() as u32));
    }
}

/// A `#tag` term only counts where the post writes the `#` (the normaliser drops it, so without
/// this check `#CrimsonLantern` would also match the plain words "Crimson Lantern").
fn hashtag_ok(c: &Compiled, hash: &[bool], h: &Hit) -> bool {
    let is_tag = c
        .terms
        .get(h.term as usize)
        .is_some_and(|t| t.raw.trim_start().starts_with('#'));
    !is_tag || hash.get(h.start as usize).copied().unwrap_or(false)
}

/// `outer` covers `inner` and is longer.
fn contains(outer: &Hit, inner: &Hit) -> bool {
    outer.start <= inner.start
        && inner.end <= outer.end
        && outer.end - outer.start > inner.end - inner.start
}

/// At most `n` tokens between `x` and `y` (`ordered`: `x` first); overlapping matches are near.
fn within(x: &Hit, y: &Hit, n: u32, ordered: bool) -> bool {
    if y.start >= x.end {
        y.start - x.end <= n
    } else if ordered {
        false
    } else if x.start >= y.end {
        x.start - y.end <= n
    } else {
        true // overlapping
    }
}

fn near(k: &Ctx<'_>, a: u32, b: u32, n: u32, ordered: bool) -> bool {
    let same = a == b;
    for x in k.hits(a) {
        for y in k.hits(b) {
            if same && x == y {
                continue;
            }
            if k.sentence(x.start) != k.sentence(y.start) {
                continue;
            }
            // A match inside the other (`not` inside the cue phrase `will not protect you`) is
            // part of that phrase, not a word that modifies it.
            if !same && (contains(x, y) || contains(y, x)) {
                continue;
            }
            if n == SAME_SENTENCE || within(x, y, n, ordered) {
                return true;
            }
        }
    }
    false
}

fn eval(cond: &Cond<u32>, k: &Ctx<'_>) -> bool {
    match cond {
        Cond::Lex(l) => k.hits(*l).next().is_some(),
        Cond::Not(x) => !eval(x, k),
        Cond::And(v) => v.iter().all(|x| eval(x, k)),
        Cond::Or(v) => v.iter().any(|x| eval(x, k)),
        Cond::Near { a, b, n, ordered } => near(k, *a, *b, *n, *ordered),
        Cond::Count { lex, op, k: n } => op.apply(k.hits(*lex).count() as u32, *n),
        Cond::Quoted(l) => k.quoted(*l),
        Cond::Free { a, b, n } => k.free(*a, *b, *n),
        Cond::Lang(ls) => {
            if ls.contains(&k.d.lang) {
                return true;
            }
            // Uncertain decision: any pack language of the same script may be the real one.
            k.d.confidence < LOW_CONFIDENCE
                && ls.iter().any(|l| {
                    k.c.languages.contains(l) && script_of_lang(*l) == script_of_lang(k.d.lang)
                })
        }
    }
}

/// The rules that fire on the matched post, with evidence.
pub fn fire(
    c: &Compiled,
    an: &Analyzer,
    original: &str,
    d: &LangDecision,
    s: &MatchScratch,
    cand: &mut Vec<u32>,
    seg: &mut Segments,
) -> Vec<FiredRule> {
    cand.clear();
    for (li, hits) in s.by_lexicon.iter().enumerate() {
        if !hits.is_empty() {
            cand.extend_from_slice(&c.rules_by_lexicon[li]);
        }
    }
    cand.extend_from_slice(&c.always);
    if cand.is_empty() {
        // No rule can fire: skip the segmentation (most chatter posts end here).
        return Vec::new();
    }
    cand.sort_unstable();
    cand.dedup();
    seg.compute(an, original);
    let whole = (0, an.toks.len() as u32);
    let mut k = Ctx {
        by_lex: &s.by_lexicon,
        c,
        d,
        sent: &seg.sent,
        clause: &seg.clause,
        quoted: &seg.quoted,
        hash: &seg.hash,
        win: whole,
    };
    let mut fired = Vec::new();
    for &ri in cand.iter() {
        let r = &c.rules[ri as usize];
        // A post of several paragraphs is judged paragraph by paragraph: the lexicons a rule
        // combines must meet in one paragraph, and only that paragraph's exceptions count.
        k.win = whole;
        let mut ok = seg.paras.len() <= 1 && eval(&r.cond, &k);
        if seg.paras.len() > 1 {
            for &p in &seg.paras {
                k.win = p;
                if eval(&r.cond, &k) {
                    ok = true;
                    break;
                }
            }
        }
        if ok {
            fired.push(FiredRule {
                rule: crate::model::RuleId(r.id.clone()),
                category: r.category,
                weight: r.weight,
                matches: evidence(c, r, an, original, &s.by_lexicon, k.win, &seg.hash),
            });
        }
    }
    fired
}

fn evidence(
    c: &Compiled,
    r: &CRule,
    an: &Analyzer,
    original: &str,
    by_lex: &[Vec<Hit>],
    (lo, hi): (u32, u32),
    hash: &[bool],
) -> Vec<Match> {
    let mut out = Vec::new();
    for &l in &r.evidence {
        for h in by_lex[l as usize]
            .iter()
            .filter(|h| h.start >= lo && h.end <= hi && hashtag_ok(c, hash, h))
        {
            if out.len() >= MAX_EVIDENCE {
                return out;
            }
            let (Some(a), Some(b)) = (
                an.toks.get(h.start as usize),
                an.toks.get(h.end as usize - 1),
            ) else {
                continue;
            };
            let (s, _) = an
                .normalized
                .text
                .original(a.start as usize, a.end as usize);
            let (_, e) = an
                .normalized
                .text
                .original(b.start as usize, b.end as usize);
            let excerpt = original.get(s..e).unwrap_or("").to_string();
            out.push(Match {
                span: Span { start: s, end: e },
                excerpt,
                lexicon: c.lexicons[l as usize].name.clone(),
                term: c.terms[h.term as usize].raw.clone(),
            });
        }
    }
    out
}

/// 1 - prod(1 - w), and categories by descending summed weight.
pub fn score(fired: &[FiredRule]) -> (f32, Vec<Category>) {
    let mut keep = 1.0f32;
    let mut sums: Vec<(Category, f32)> = Vec::new();
    for f in fired {
        keep *= 1.0 - f.weight.clamp(0.0, 1.0);
        match sums.iter_mut().find(|(c, _)| *c == f.category) {
            Some((_, s)) => *s += f.weight,
            None => sums.push((f.category, f.weight)),
        }
    }
    sums.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    (
        (1.0 - keep).clamp(0.0, 1.0),
        sums.into_iter().map(|x| x.0).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RuleId;

    fn fr(w: f32, c: Category) -> FiredRule {
        FiredRule {
            rule: RuleId("r".into()),
            category: c,
            weight: w,
            matches: vec![],
        }
    }

    #[test]
    fn score_is_noisy_or() {
        let (s, cats) = score(&[
            fr(0.5, Category::Threat),
            fr(0.5, Category::Propaganda),
            fr(0.2, Category::Threat),
        ]);
        assert!((s - 0.8).abs() < 1e-6);
        assert_eq!(cats, vec![Category::Threat, Category::Propaganda]);
        assert_eq!(score(&[]).0, 0.0);
    }

    fn pack(when: &str) -> crate::classify::rules::Classifier {
        let src = format!(
            "[pack]\nname = \"t\"\nlanguages = [\"en\"]\n\
             [lexicons.org]\nen = [\"Acme Front\"]\n\
             [lexicons.cue]\nen = [\"join\"]\n\
             [lexicons.neg]\nexception = true\nen = [\"never\", \"police\"]\n\
             [[rules]]\nid = \"r\"\ndescription = \"d\"\nwhy = \"w\"\n\
             category = \"solicitation\"\nweight = 0.8\nwhen = \"{when}\"\n"
        );
        crate::classify::rules::Classifier::from_sources(&[super::super::Source::new(
            "t.toml", src,
        )])
        .expect("pack compiles")
    }

    fn flags(c: &crate::classify::rules::Classifier, text: &str) -> bool {
        let mut s = c.new_scratch();
        c.classify_text(text, &mut s).flagged
    }

    #[test]
    fn rules_fire_per_paragraph_despite_exceptions_elsewhere() {
        let c = pack("org and cue and not neg");
        assert!(!flags(&c, "Police say: join the Acme Front."));
        // The exception sits in another paragraph: the violating paragraph fires alone.
        assert!(flags(
            &c,
            "The police closed the road today.\n\nJoin the Acme Front now!"
        ));
        // Name and cue in different paragraphs do not combine.
        assert!(!flags(&c, "The Acme Front is in town.\n\nJoin our choir!"));
        // Same paragraph: still vetoed.
        assert!(!flags(&c, "The police say join the Acme Front, never."));
    }

    #[test]
    fn near_and_sentence_stay_within_one_sentence() {
        let c = pack("org and cue and not near(neg, cue, 3)");
        assert!(!flags(&c, "I would never join the Acme Front."));
        // A negator in another sentence does not reach the cue.
        assert!(flags(&c, "Join the Acme Front now. I never sleep."));
        assert!(flags(&c, "I never sleep. Join the Acme Front!"));
        let c = pack("org and cue and not sentence(neg, cue)");
        assert!(!flags(
            &c,
            "Join them, the Acme Front people say, but I never will"
        ));
        assert!(flags(&c, "Never again a dull day; join the Acme Front!"));
    }

    #[test]
    fn free_scopes_negation_to_the_clause_and_needs_one_unnegated_cue() {
        let c = pack("org and cue and free(cue, neg, 4)");
        // Every cue negated (either side of it).
        assert!(!flags(&c, "I would never join the Acme Front."));
        assert!(!flags(&c, "The Acme Front? I would join them never."));
        // The negator sits in another clause.
        assert!(flags(
            &c,
            "Join the Acme Front in the streets, never online."
        ));
        assert!(flags(&c, "Acme Front: join us — never mind the rest"));
        // One negated cue, one free cue.
        assert!(flags(
            &c,
            "Never join a choir. Join the Acme Front instead."
        ));
        // Too far away inside one clause.
        assert!(flags(
            &c,
            "Never did I think I would say this to you but join the Acme Front"
        ));
        // `free` is positive: no cue, no match.
        assert!(!flags(&c, "The Acme Front."));
    }

    #[test]
    fn a_negator_inside_the_cue_phrase_does_not_negate_it() {
        let src = "[pack]\nname = \"t\"\nlanguages = [\"en\"]\n\
             [lexicons.org]\nen = [\"Acme Front\"]\n\
             [lexicons.cue]\nen = [\"never forgets\"]\n\
             [lexicons.neg]\nexception = true\nen = [\"never\", \"not\"]\n\
             [[rules]]\nid = \"r\"\ndescription = \"d\"\nwhy = \"w\"\n\
             category = \"threat\"\nweight = 0.8\n\
             when = \"org and cue and not near(neg, cue, 3)\"\n";
        let c = crate::classify::rules::Classifier::from_sources(&[super::super::Source::new(
            "t.toml", src,
        )])
        .expect("pack compiles");
        assert!(flags(&c, "The Acme Front never forgets."));
        assert!(!flags(&c, "The Acme Front does not, never forgets anyone."));
    }

    #[test]
    fn single_quotes_quote_but_apostrophes_do_not() {
        let mut an = Analyzer::new();
        let mut seg = Segments::default();
        let mut quoted = |text: &str| {
            an.prepare(text);
            seg.compute(&an, text);
            let toks: Vec<bool> = seg.quoted.clone();
            toks
        };
        // 'never goes out' quoted; the words around it are not.
        assert_eq!(
            quoted("they wrote 'never goes out' on it"),
            [false, false, true, true, true, false, false]
        );
        // Apostrophes inside and after words open nothing.
        assert!(
            quoted("don't touch the lanterns' flag, it's theirs")
                .iter()
                .all(|q| !q)
        );
        assert_eq!(quoted("‘lantern’ ok"), [true, false]);
    }

    #[test]
    fn hashtag_terms_need_the_hash() {
        let src = "[pack]\nname = \"t\"\nlanguages = [\"en\"]\n\
             [lexicons.tag]\nany = [\"#AcmeFront\"]\n\
             [[rules]]\nid = \"r\"\ndescription = \"d\"\nwhy = \"w\"\n\
             category = \"propaganda\"\nweight = 0.8\nwhen = \"tag\"\n";
        let c = crate::classify::rules::Classifier::from_sources(&[super::super::Source::new(
            "t.toml", src,
        )])
        .expect("pack compiles");
        assert!(flags(&c, "Tonight #AcmeFront"));
        assert!(flags(&c, "Tonight # AcmeFront"));
        assert!(!flags(&c, "Tonight AcmeFront"));
        assert!(!flags(&c, "Tonight Acme Front"));
    }

    #[test]
    fn segments_split_on_sentence_marks_of_several_scripts() {
        let mut an = Analyzer::new();
        let text = "один。二 ۔ three\nfour";
        an.prepare(text);
        let mut seg = Segments::default();
        seg.compute(&an, text);
        assert_eq!(seg.sent.len(), an.toks.len());
        assert_eq!(seg.clause.len(), an.toks.len());
        assert_eq!(seg.paras.len(), 2);
        assert!(seg.sent.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*seg.sent.last().unwrap_or(&0), 3);
    }

    #[test]
    fn quoted_is_true_only_when_every_match_is_inside_quotation_marks() {
        let c = pack("org and not quoted(org)");
        assert!(flags(&c, "Join the Acme Front."));
        for q in [
            "He wrote «Acme Front» on the wall.",
            "He wrote \"Acme Front\" on the wall.",
            "Er schrieb „Acme Front“ an die Wand.",
            "He wrote “the Acme Front” on the wall.",
            "他写了《Acme Front》",
            "他写了「Acme Front」",
        ] {
            assert!(!flags(&c, q), "{q}");
        }
        // One unquoted mention is enough; an unclosed quote ends at a blank line.
        assert!(flags(&c, "«Acme Front» they say. Acme Front forever"));
        assert!(flags(&c, "«a stray quote\n\nAcme Front"));
        // Nested and mismatched marks do not panic.
        assert!(!flags(&c, "«“Acme Front”»"));
        assert!(flags(&c, "»»» Acme Front"));
    }
}
