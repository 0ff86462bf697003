//! The raw (parsed, not yet compiled) form of a rule pack, with source positions, and the
//! problems `trawl rules check` reports.

use std::fmt;

use crate::model::{Category, Lang};

/// A position in a pack file (1-based line and column, in chars).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pos {
    /// File as given on the command line (or `<embedded>/name.toml`).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// How bad a problem is: errors fail `check` and loading, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The pack cannot be used as written.
    Error,
    /// Suspicious but usable (duplicate term, unused lexicon...).
    Warning,
}

/// One problem in a pack, at a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// Where.
    pub pos: Pos,
    /// What, in one sentence.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}: {s}: {}", self.pos, self.message)
    }
}

/// A source file with a line index, to turn byte offsets into `line:column`.
#[derive(Debug, Clone)]
pub struct Source {
    /// Display name.
    pub name: String,
    /// Contents.
    pub text: String,
    line_starts: Vec<usize>,
}

impl Source {
    /// Indexes a file's text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Source {
        let text = text.into();
        let mut line_starts = vec![0];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(i + 1);
            }
        }
        Source {
            name: name.into(),
            text,
            line_starts,
        }
    }

    /// The position of byte `offset`.
    pub fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let ls = self.line_starts[line - 1];
        let mut o = offset;
        while !self.text.is_char_boundary(o) {
            o -= 1;
        }
        let col = self.text[ls..o].chars().count() + 1;
        Pos {
            file: self.name.clone(),
            line,
            col,
        }
    }
}

/// A term as written, with its language (`None` = `any`).
#[derive(Debug, Clone)]
pub struct TermDef {
    /// The term text as written (`word`, `two words`, `=exact`, `pre*`, `/regex/`).
    pub raw: String,
    /// Language key it was listed under.
    pub lang: Option<Lang>,
    /// Where.
    pub pos: Pos,
}

/// A named lexicon.
#[derive(Debug, Clone)]
pub struct LexiconDef {
    /// Name used in conditions.
    pub name: String,
    /// Where it is defined (first definition).
    pub pos: Pos,
    /// What it holds.
    pub description: String,
    /// An exception lexicon (news, negation, condemnation, quoting, look-alike).
    pub exception: bool,
    /// Its terms.
    pub terms: Vec<TermDef>,
}

/// A condition over lexicons. `L` is a lexicon reference: a name with its offset inside the
/// condition string while parsing, a lexicon index once compiled.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond<L> {
    /// The lexicon has at least one match.
    Lex(L),
    /// Negation.
    Not(Box<Cond<L>>),
    /// All of.
    And(Vec<Cond<L>>),
    /// Any of.
    Or(Vec<Cond<L>>),
    /// A match of `a` within `n` tokens of a match of `b` (`ordered`: `a` first).
    Near {
        /// First lexicon.
        a: L,
        /// Second lexicon.
        b: L,
        /// Max tokens between the two matches.
        n: u32,
        /// `before(a, b, n)`: `a` must come first.
        ordered: bool,
    },
    /// `free(a, b, n)`: some match of `a` has no match of `b` within `n` tokens of it (either
    /// side) in the same clause. Scoped negation: `free(cue, negator, 3)` holds for "prove it on
    /// the streets, not in the comments" (the negator is in another clause) and fails for "I
    /// would never join" (every cue is negated).
    Free {
        /// The lexicon whose matches are looked at.
        a: L,
        /// The lexicon that cancels a match nearby (a negator).
        b: L,
        /// Max tokens between the two.
        n: u32,
    },
    /// Number of matches of a lexicon compared with `k`.
    Count {
        /// The lexicon.
        lex: L,
        /// Comparison.
        op: CmpOp,
        /// The number.
        k: u32,
    },
    /// The post's language is one of these.
    Lang(Vec<Lang>),
    /// The lexicon has matches and every one of them lies inside quotation marks (`«»`, `“”`,
    /// `„“`, `""`, `‹›`, `「」`, `『』`, `《》`): the text quotes the words rather than says them.
    Quoted(L),
}

/// Comparison in `count(a) OP k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `>=`
    Ge,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `<`
    Lt,
    /// `==`
    Eq,
}

impl CmpOp {
    /// Applies the comparison.
    pub fn apply(self, x: u32, k: u32) -> bool {
        match self {
            CmpOp::Ge => x >= k,
            CmpOp::Gt => x > k,
            CmpOp::Le => x <= k,
            CmpOp::Lt => x < k,
            CmpOp::Eq => x == k,
        }
    }
}

/// A rule as written.
#[derive(Debug, Clone)]
pub struct RuleDef {
    /// Rule id (unique across the loaded packs).
    pub id: String,
    /// Where the rule starts.
    pub pos: Pos,
    /// One line: what it flags.
    pub description: String,
    /// Why this is a violation (for reviewers).
    pub why: String,
    /// Category it assigns.
    pub category: Category,
    /// Weight in [0, 1].
    pub weight: f32,
    /// Condition as written.
    pub when: String,
    /// Parsed condition (lexicon names with their positions).
    pub cond: Option<Cond<(String, Pos)>>,
    /// Texts the rule must fire on.
    pub matches: Vec<(String, Pos)>,
    /// Texts the rule must not fire on.
    pub no_matches: Vec<(String, Pos)>,
    /// Known false positives, for reviewers.
    pub false_positives: Vec<String>,
}

/// Everything parsed from a set of pack files (one namespace).
#[derive(Debug, Clone, Default)]
pub struct PackDef {
    /// Pack name(s).
    pub name: String,
    /// Description.
    pub description: String,
    /// Threshold (the lowest declared; default 0.5).
    pub threshold: Option<f32>,
    /// Declared languages (default: every language a lexicon lists).
    pub languages: Vec<Lang>,
    /// Lexicons, by first appearance.
    pub lexicons: Vec<LexiconDef>,
    /// Rules in file order.
    pub rules: Vec<RuleDef>,
}
