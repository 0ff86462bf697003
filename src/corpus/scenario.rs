//! Scenario files and phrase banks: the serde model, loading and semantic validation.
//!
//! A scenario (`corpora/default.toml`, format in `docs/scenario-format.md`) names the fictional
//! organisations, towns, sites, sizes and rates; phrase banks (`lang/<code>.toml`) hold the
//! per-language texts. Both are parsed with `deny_unknown_fields`; a syntax or type error becomes
//! [`CorpusError::Parse`] with `file:line:column` from toml's byte span, and a file that parses but
//! makes no sense becomes [`CorpusError::Invalid`] listing *every* problem with its key path.
//! Loading never writes anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::embedded;
use super::error::CorpusError;
use crate::model::{Category, Lang, SiteKind, Timestamp};

/// A list of strings that may also be written as one string.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(from = "OneOrMany")]
pub struct StrList(pub Vec<String>);

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl From<OneOrMany> for StrList {
    fn from(v: OneOrMany) -> Self {
        match v {
            OneOrMany::One(s) => StrList(vec![s]),
            OneOrMany::Many(v) => StrList(v),
        }
    }
}

/// Per-language string lists (`en = [...]`, `any = [...]`).
pub type PerLang = BTreeMap<String, StrList>;

/// The scenario file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Scenario name.
    pub name: String,
    /// The exercise brief.
    #[serde(default)]
    pub description: String,
    /// Default RNG seed.
    pub seed: u64,
    /// Start of the time span (RFC 3339).
    pub start: String,
    /// End of the time span (RFC 3339).
    pub end: String,
    /// Sizes.
    pub sizes: Sizes,
    /// Share of all posts that violate, per category.
    #[serde(default)]
    pub violating: ViolatingRates,
    /// Share of all posts that are hard negatives, per kind.
    #[serde(default)]
    pub hard_negatives: NegativeRates,
    /// Probability of each phenomenon on a violating post.
    #[serde(default)]
    pub obfuscation: ObfuscationRates,
    /// Fictional organisations.
    pub organisations: Vec<Organisation>,
    /// Fictional towns per language (or `any`).
    #[serde(default)]
    pub towns: PerLang,
    /// Sites.
    pub sites: Vec<SiteFile>,
}

/// `[sizes]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sizes {
    /// Default number of posts.
    pub posts: u64,
    /// Accounts per site.
    #[serde(default = "default_accounts")]
    pub accounts_per_site: u32,
    /// Forum thread length range `[min, max]`.
    #[serde(default = "default_thread")]
    pub posts_per_thread: Vec<u32>,
    /// On news sites, the share of posts that are articles (the rest are comments).
    #[serde(default = "default_articles")]
    pub articles_share: f64,
}

fn default_accounts() -> u32 {
    300
}
fn default_thread() -> Vec<u32> {
    vec![3, 40]
}
fn default_articles() -> f64 {
    0.15
}

/// `[violating]`: share of all posts per category.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[allow(missing_docs)]
pub struct ViolatingRates {
    pub incitement: f64,
    pub solicitation: f64,
    pub instruction: f64,
    pub threat: f64,
    pub glorification: f64,
    pub financing: f64,
    pub propaganda: f64,
}

impl ViolatingRates {
    /// `(category, rate)` in [`Category::ALL`] order.
    pub fn pairs(&self) -> [(Category, f64); 7] {
        [
            (Category::Incitement, self.incitement),
            (Category::Solicitation, self.solicitation),
            (Category::Instruction, self.instruction),
            (Category::Threat, self.threat),
            (Category::Glorification, self.glorification),
            (Category::Financing, self.financing),
            (Category::Propaganda, self.propaganda),
        ]
    }
}

/// The six kinds of hard negatives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NegKind {
    /// Neutral news report.
    News,
    /// Condemnation.
    Condemnation,
    /// Negation ("I would never join").
    Negation,
    /// Quoting to report or criticise.
    Quoting,
    /// Sports/gaming/business sense of cue words.
    OtherSense,
    /// The harmless look-alike organisation.
    Lookalike,
}

impl NegKind {
    /// All kinds in a stable order.
    pub const ALL: [NegKind; 6] = [
        NegKind::News,
        NegKind::Condemnation,
        NegKind::Negation,
        NegKind::Quoting,
        NegKind::OtherSense,
        NegKind::Lookalike,
    ];

    /// The key used in scenario and bank files.
    pub fn as_str(self) -> &'static str {
        match self {
            NegKind::News => "news",
            NegKind::Condemnation => "condemnation",
            NegKind::Negation => "negation",
            NegKind::Quoting => "quoting",
            NegKind::OtherSense => "other_sense",
            NegKind::Lookalike => "lookalike",
        }
    }
}

/// `[hard_negatives]`: share of all posts per kind.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[allow(missing_docs)]
pub struct NegativeRates {
    pub news: f64,
    pub condemnation: f64,
    pub negation: f64,
    pub quoting: f64,
    pub other_sense: f64,
    pub lookalike: f64,
}

impl NegativeRates {
    /// `(kind, rate)` in [`NegKind::ALL`] order.
    pub fn pairs(&self) -> [(NegKind, f64); 6] {
        [
            (NegKind::News, self.news),
            (NegKind::Condemnation, self.condemnation),
            (NegKind::Negation, self.negation),
            (NegKind::Quoting, self.quoting),
            (NegKind::OtherSense, self.other_sense),
            (NegKind::Lookalike, self.lookalike),
        ]
    }
}

/// `[obfuscation]`: independent probability of each phenomenon on a violating post.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[allow(missing_docs)]
pub struct ObfuscationRates {
    pub leet: f64,
    pub spaced: f64,
    pub zero_width: f64,
    pub homoglyph: f64,
    pub translit: f64,
    pub hashtag: f64,
    pub code_mix: f64,
    pub short: f64,
    pub long: f64,
    pub entities: f64,
    pub repost: f64,
}

impl ObfuscationRates {
    fn pairs(&self) -> [(&'static str, f64); 11] {
        [
            ("leet", self.leet),
            ("spaced", self.spaced),
            ("zero_width", self.zero_width),
            ("homoglyph", self.homoglyph),
            ("translit", self.translit),
            ("hashtag", self.hashtag),
            ("code_mix", self.code_mix),
            ("short", self.short),
            ("long", self.long),
            ("entities", self.entities),
            ("repost", self.repost),
        ]
    }
}

/// Role of an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The fictional terrorist organisation.
    Target,
    /// A harmless organisation with a similar name.
    Lookalike,
}

/// Leaders: one list (any script; the generator prefers the form in the post's script) or a
/// per-language table.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Leaders {
    /// One list.
    List(Vec<String>),
    /// Per language.
    PerLang(PerLang),
}

impl Default for Leaders {
    fn default() -> Self {
        Leaders::List(Vec::new())
    }
}

/// `[[organisations]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// Stable id.
    pub id: String,
    /// Target or look-alike.
    pub role: Role,
    /// Canonical (English) name.
    pub canonical: String,
    /// Short names / acronyms.
    #[serde(default)]
    pub short: Vec<String>,
    /// Fictional leaders.
    #[serde(default)]
    pub leaders: Leaders,
    /// Name variants per language.
    #[serde(default)]
    pub names: PerLang,
    /// Slogans per language (or `any`).
    #[serde(default)]
    pub slogans: PerLang,
    /// Hashtags per language (or `any`).
    #[serde(default)]
    pub hashtags: PerLang,
}

/// `[[sites]]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteFile {
    /// Host under `.test`.
    pub host: String,
    /// Site kind.
    pub kind: SiteKind,
    /// Language mix (weights).
    pub langs: BTreeMap<String, f64>,
    /// Markup variant 1..=3.
    #[serde(default = "one_u8")]
    pub style: u8,
    /// `utf-8` | `windows-1251` | `gbk`.
    #[serde(default = "utf8")]
    pub charset: String,
    /// Relative share of all posts.
    #[serde(default = "one_f64")]
    pub share: f64,
    /// Emit schema.org JSON-LD.
    #[serde(default)]
    pub jsonld: bool,
}

fn one_u8() -> u8 {
    1
}
fn one_f64() -> f64 {
    1.0
}
fn utf8() -> String {
    "utf-8".into()
}

/// A site after validation.
#[derive(Debug, Clone)]
pub struct Site {
    /// Host (lowercase).
    pub host: String,
    /// Kind.
    pub kind: SiteKind,
    /// Languages with weights, sorted by code.
    pub langs: Vec<(Lang, f64)>,
    /// The main language (highest weight): `<html lang>`.
    pub main_lang: Lang,
    /// Markup variant 1..=3.
    pub style: u8,
    /// Canonical charset label.
    pub charset: &'static str,
    /// Encoder.
    pub encoding: &'static encoding_rs::Encoding,
    /// Relative share.
    pub share: f64,
    /// JSON-LD on post pages.
    pub jsonld: bool,
}

/// `[people]` of a phrase bank.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct People {
    /// Given names.
    pub given: Vec<String>,
    /// Family names / handle stems.
    pub family: Vec<String>,
}

/// `[negative]` of a phrase bank.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[allow(missing_docs)]
pub struct NegativeBank {
    pub news: Vec<String>,
    pub condemnation: Vec<String>,
    pub negation: Vec<String>,
    pub quoting: Vec<String>,
    pub other_sense: Vec<String>,
    pub lookalike: Vec<String>,
}

impl NegativeBank {
    /// Templates of one kind.
    pub fn get(&self, k: NegKind) -> &[String] {
        match k {
            NegKind::News => &self.news,
            NegKind::Condemnation => &self.condemnation,
            NegKind::Negation => &self.negation,
            NegKind::Quoting => &self.quoting,
            NegKind::OtherSense => &self.other_sense,
            NegKind::Lookalike => &self.lookalike,
        }
    }
}

/// `[violating]` of a phrase bank.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[allow(missing_docs)]
pub struct ViolatingBank {
    pub incitement: Vec<String>,
    pub solicitation: Vec<String>,
    pub instruction: Vec<String>,
    pub threat: Vec<String>,
    pub glorification: Vec<String>,
    pub financing: Vec<String>,
    pub propaganda: Vec<String>,
}

impl ViolatingBank {
    /// Templates of one category.
    pub fn get(&self, c: Category) -> &[String] {
        match c {
            Category::Incitement => &self.incitement,
            Category::Solicitation => &self.solicitation,
            Category::Instruction => &self.instruction,
            Category::Threat => &self.threat,
            Category::Glorification => &self.glorification,
            Category::Financing => &self.financing,
            Category::Propaganda => &self.propaganda,
        }
    }
}

/// A phrase bank (`lang/<code>.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhraseBank {
    /// Language code.
    pub lang: String,
    /// Script: `Latn` | `Cyrl` | `Arab` | `Hans` | `Deva`.
    pub script: String,
    /// Names.
    #[serde(default)]
    pub people: People,
    /// Everyday chatter per topic.
    #[serde(default)]
    pub chatter: BTreeMap<String, Vec<String>>,
    /// Hard negatives.
    #[serde(default)]
    pub negative: NegativeBank,
    /// Violating templates per category.
    #[serde(default)]
    pub violating: ViolatingBank,
    /// Site chrome in this language (optional: English where missing).
    #[serde(default)]
    pub ui: UiBank,
}

/// `[ui]` of a phrase bank: the site chrome (navigation, labels, board and section names) of a
/// site whose main language this is. Every key is optional; a missing key (or a bank without
/// `[ui]`) falls back to the English default. `{n}` in the count templates is the number,
/// `{user}` in the reply templates the linked `@handle`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UiBank {
    /// Forum: board index heading and title.
    pub forum_index: String,
    /// Forum: the breadcrumb link to the board index.
    pub index: String,
    /// Forum: label before a post's author.
    pub by: String,
    /// Forum: the link to the calendar.
    pub calendar: String,
    /// Forum: a member's post count, `{n}` the number.
    pub member_posts: String,
    /// Forum: name of the only board when the bank has no chatter topics.
    pub general: String,
    /// Forum: name of the (robots-disallowed) archive board.
    pub archive: String,
    /// Forum: board names per chatter topic key; a topic without one shows its capitalised key.
    pub boards: BTreeMap<String, String>,
    /// Pagination: title of the previous-page link.
    pub previous: String,
    /// Pagination: title of the next-page link.
    pub next: String,
    /// Social: the home link and title.
    pub home: String,
    /// Social: the link from a status page to its timeline page.
    pub timeline: String,
    /// Social: timeline page heading and title.
    pub public_timeline: String,
    /// Social: home page heading.
    pub welcome: String,
    /// Social: link to the newest timeline page.
    pub latest_posts: String,
    /// Social: link to the oldest timeline page.
    pub oldest_posts: String,
    /// Social: heading of the trending hashtags.
    pub trending: String,
    /// Social: heading of the suggested accounts.
    pub who_to_follow: String,
    /// Social (Mastodon-like): reply marker, `{user}` the parent's linked `@handle`.
    pub in_reply_to: String,
    /// Social (X-like): reply marker, `{user}` the parent's linked `@handle`.
    pub replying_to: String,
    /// Social and news: an account's or hashtag's post count, `{n}` the number.
    pub post_count: String,
    /// News: front page heading and title, and the breadcrumb link to it.
    pub front_page: String,
    /// News: label before an article's author.
    pub byline: String,
    /// News: text of an article's permalink.
    pub link: String,
    /// News: heading of the comments, `{n}` the number.
    pub comments: String,
    /// News: section names per section slug (`world`, `region`, `economy`, `sport`, `culture`,
    /// `archive`); a missing one shows its capitalised slug.
    pub sections: BTreeMap<String, String>,
}

impl Default for UiBank {
    fn default() -> Self {
        let s = |x: &str| x.to_string();
        UiBank {
            forum_index: s("Forum index"),
            index: s("Index"),
            by: s("by"),
            calendar: s("Calendar"),
            member_posts: s("Posts: {n}"),
            general: s("General"),
            archive: s("Archive"),
            boards: BTreeMap::new(),
            previous: s("Previous page"),
            next: s("Next page"),
            home: s("Home"),
            timeline: s("Timeline"),
            public_timeline: s("Public timeline"),
            welcome: s("Welcome"),
            latest_posts: s("Latest posts"),
            oldest_posts: s("Oldest posts"),
            trending: s("Trending"),
            who_to_follow: s("Who to follow"),
            in_reply_to: s("in reply to {user}"),
            replying_to: s("Replying to {user}"),
            post_count: s("{n} posts"),
            front_page: s("Front page"),
            byline: s("By"),
            link: s("link"),
            comments: s("Comments ({n})"),
            sections: BTreeMap::new(),
        }
    }
}

impl UiBank {
    /// `template` with `{n}` replaced by `n`.
    pub fn count(template: &str, n: impl std::fmt::Display) -> String {
        template.replace("{n}", &n.to_string())
    }

    /// Board name of a chatter topic: `[ui.boards]`, else the key capitalised, `_` as spaces.
    pub fn board_name(&self, topic: &str) -> String {
        self.boards
            .get(topic)
            .cloned()
            .unwrap_or_else(|| capitalised(topic))
    }

    /// Name of a news section slug: `[ui.sections]`, else the slug capitalised.
    pub fn section_name(&self, slug: &str) -> String {
        self.sections
            .get(slug)
            .cloned()
            .unwrap_or_else(|| capitalised(slug))
    }

    /// Every chrome string with its key (for checks such as charset coverage).
    pub fn strings(&self) -> Vec<(String, &str)> {
        let mut v: Vec<(String, &str)> = vec![
            ("forum_index".into(), self.forum_index.as_str()),
            ("index".into(), &self.index),
            ("by".into(), &self.by),
            ("calendar".into(), &self.calendar),
            ("member_posts".into(), &self.member_posts),
            ("general".into(), &self.general),
            ("archive".into(), &self.archive),
            ("previous".into(), &self.previous),
            ("next".into(), &self.next),
            ("home".into(), &self.home),
            ("timeline".into(), &self.timeline),
            ("public_timeline".into(), &self.public_timeline),
            ("welcome".into(), &self.welcome),
            ("latest_posts".into(), &self.latest_posts),
            ("oldest_posts".into(), &self.oldest_posts),
            ("trending".into(), &self.trending),
            ("who_to_follow".into(), &self.who_to_follow),
            ("in_reply_to".into(), &self.in_reply_to),
            ("replying_to".into(), &self.replying_to),
            ("post_count".into(), &self.post_count),
            ("front_page".into(), &self.front_page),
            ("byline".into(), &self.byline),
            ("link".into(), &self.link),
            ("comments".into(), &self.comments),
        ];
        v.extend(
            self.boards
                .iter()
                .map(|(k, x)| (format!("boards.{k}"), x.as_str())),
        );
        v.extend(
            self.sections
                .iter()
                .map(|(k, x)| (format!("sections.{k}"), x.as_str())),
        );
        v
    }
}

/// `s` with its first letter uppercased and `_` as spaces.
fn capitalised(s: &str) -> String {
    let mut cs = s.chars();
    cs.next()
        .map(|f| f.to_uppercase().collect::<String>() + cs.as_str())
        .unwrap_or_default()
        .replace('_', " ")
}

/// Placeholders a template may use.
pub const PLACEHOLDERS: &[&str] = &[
    "org",
    "org_short",
    "slogan",
    "hashtag",
    "leader",
    "town",
    "lookalike",
    "user",
    "amount",
];

/// Scripts a bank may declare.
pub const SCRIPTS: &[&str] = &["Latn", "Cyrl", "Arab", "Hans", "Deva"];

/// A loaded, validated scenario with its phrase banks.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file as written.
    pub file: ScenarioFile,
    /// Where it came from (a path, or `<embedded>/default.toml`).
    pub source: PathBuf,
    /// sha256 of the scenario file bytes.
    pub sha256: String,
    /// Start of the time span.
    pub start: Timestamp,
    /// End of the time span.
    pub end: Timestamp,
    /// Validated sites, in file order.
    pub sites: Vec<Site>,
    /// Phrase banks of every site language.
    pub banks: BTreeMap<Lang, PhraseBank>,
}

/// Maps a charset label to its canonical name and encoder (only the three supported ones).
pub fn charset(label: &str) -> Option<(&'static str, &'static encoding_rs::Encoding)> {
    match label.to_ascii_lowercase().as_str() {
        "utf-8" | "utf8" => Some(("utf-8", encoding_rs::UTF_8)),
        "windows-1251" | "cp1251" => Some(("windows-1251", encoding_rs::WINDOWS_1251)),
        "gbk" => Some(("gbk", encoding_rs::GBK)),
        _ => None,
    }
}

/// Parses TOML into `T`, turning toml's span into `file:line:column`.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    file: &Path,
) -> Result<T, CorpusError> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = e
            .span()
            .map(|s| crate::util::line_col(text, s.start))
            .unwrap_or((1, 1));
        CorpusError::Parse {
            file: file.to_path_buf(),
            line,
            column,
            message: e.message().trim().to_string(),
        }
    })
}

/// Prefixes each `key.path: message` problem with `file:line:column: ` of the value it names
/// (or of its nearest existing parent, for a missing key). Problems about other files (phrase
/// banks) or about no single key keep their text.
fn position_problems(text: &str, file: &Path, problems: Vec<String>) -> Vec<String> {
    let Ok(doc) = toml::de::DeTable::parse(text) else {
        return problems;
    };
    problems
        .into_iter()
        .map(|p| {
            let key = p.split(": ").next().unwrap_or_default();
            match locate(doc.get_ref(), key) {
                Some(offset) => {
                    let (line, col) = crate::util::line_col(text, offset);
                    format!("{}:{line}:{col}: {p}", file.display())
                }
                None => p,
            }
        })
        .collect()
}

/// Byte offset of the value at `key` (`sites[2].langs.xx`, `organisations.ocl.names.en`: an
/// array element is found by index or by its `id`/`host`), or of the deepest existing parent.
/// `None` when not even the first segment exists.
fn locate(root: &toml::de::DeTable<'_>, key: &str) -> Option<usize> {
    use toml::de::DeValue;
    let mut segments = Vec::new();
    for part in key.split('.') {
        let (name, mut rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
        if !name.is_empty() {
            segments.push(name);
        }
        while let Some((idx, after)) = rest.split_once(']') {
            segments.push(idx);
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    let (first, rest) = segments.split_first()?;
    fn get<'a, 'i>(
        t: &'a toml::de::DeTable<'i>,
        k: &str,
    ) -> Option<&'a toml::Spanned<DeValue<'i>>> {
        t.iter()
            .find(|(name, _)| name.get_ref() == k)
            .map(|(_, v)| v)
    }
    let mut node = get(root, first)?;
    let mut offset = node.span().start;
    for seg in rest {
        let next = match node.get_ref() {
            DeValue::Table(t) => get(t, seg),
            DeValue::Array(a) => match seg.parse::<usize>() {
                Ok(i) => a.get(i),
                Err(_) => a.iter().find(|el| match el.get_ref() {
                    DeValue::Table(t) => ["id", "host"].iter().any(|k| {
                        get(t, k)
                            .is_some_and(|v| matches!(v.get_ref(), DeValue::String(s) if s == seg))
                    }),
                    _ => false,
                }),
            },
            _ => None,
        };
        match next {
            Some(v) => {
                node = v;
                offset = v.span().start;
            }
            None => break,
        }
    }
    Some(offset)
}

/// The placeholders used by a template (`{name}`), in order; unterminated braces are ignored.
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        let after = &rest[i + 1..];
        match after.find('}') {
            Some(j)
                if after[..j]
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_') =>
            {
                out.push(&after[..j]);
                rest = &after[j + 1..];
            }
            _ => rest = after,
        }
    }
    out
}

impl Scenario {
    /// Loads a scenario file; its phrase banks come from `lang/` beside it when present there,
    /// else from the embedded banks.
    pub fn load(path: &Path) -> crate::Result<Scenario> {
        let text = std::fs::read_to_string(path).map_err(|e| CorpusError::io(path, e))?;
        let lang_dir = path.parent().map(|p| p.join("lang"));
        Ok(Self::from_parts(&text, path, lang_dir.as_deref())?)
    }

    /// The embedded default scenario (`corpora/default.toml` + `corpora/lang/*.toml`).
    pub fn default_scenario() -> crate::Result<Scenario> {
        Ok(Self::from_parts(
            embedded::DEFAULT_SCENARIO,
            Path::new("<embedded>/default.toml"),
            None,
        )?)
    }

    /// Parses and validates scenario text; banks from `lang_dir` (if given and present) or
    /// embedded.
    pub fn from_parts(
        text: &str,
        source: &Path,
        lang_dir: Option<&Path>,
    ) -> Result<Scenario, CorpusError> {
        let file: ScenarioFile = parse_toml(text, source)?;
        let mut problems = Vec::new();
        let start = parse_time(&file.start, "start", &mut problems);
        let end = parse_time(&file.end, "end", &mut problems);
        if let (Some(s), Some(e)) = (start, end)
            && s >= e
        {
            problems.push("end: must be after start".into());
        }
        validate_rates(&file, &mut problems);
        validate_orgs(&file, &mut problems);
        let sites = validate_sites(&file, &mut problems);

        // Phrase banks of every site language.
        let mut banks = BTreeMap::new();
        let needed: BTreeSet<Lang> = sites
            .iter()
            .flat_map(|s| s.langs.iter().map(|l| l.0))
            .collect();
        for lang in needed {
            match load_bank(lang, lang_dir)? {
                Some((bank, bank_path)) => {
                    validate_bank(&bank, lang, &bank_path, &file, &mut problems);
                    banks.insert(lang, bank);
                }
                None => problems.push(format!(
                    "sites: language {:?} has no phrase bank (lang/{}.toml)",
                    lang.code(),
                    lang.code()
                )),
            }
        }
        for (i, site) in sites.iter().enumerate() {
            for (lang, _) in &site.langs {
                let has = |m: &PerLang| m.get(lang.code()).is_some_and(|v| !v.0.is_empty());
                for org in file.organisations.iter().filter(|o| o.role == Role::Target) {
                    if !has(&org.names) {
                        problems.push(format!(
                            "organisations.{}.names.{}: missing, but sites[{i}] ({}) uses {}",
                            org.id,
                            lang.code(),
                            site.host,
                            lang.code()
                        ));
                    }
                }
            }
        }
        problems.dedup();
        if !problems.is_empty() {
            let problems = position_problems(text, source, problems);
            return Err(CorpusError::Invalid {
                file: source.to_path_buf(),
                problems,
            });
        }
        Ok(Scenario {
            sha256: crate::util::sha256_hex(text.as_bytes()),
            source: source.to_path_buf(),
            start: start.unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
            end: end.unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
            sites,
            banks,
            file,
        })
    }

    /// The target organisation (validation guarantees one).
    pub fn target(&self) -> &Organisation {
        self.file
            .organisations
            .iter()
            .find(|o| o.role == Role::Target)
            .unwrap_or(&self.file.organisations[0])
    }

    /// The first look-alike organisation, if any.
    pub fn lookalike(&self) -> Option<&Organisation> {
        self.file
            .organisations
            .iter()
            .find(|o| o.role == Role::Lookalike)
    }
}

fn parse_time(s: &str, key: &str, problems: &mut Vec<String>) -> Option<Timestamp> {
    let t = crate::model::parse_rfc3339(s);
    if t.is_none() {
        problems.push(format!(
            "{key}: {s:?} is not an RFC 3339 time (e.g. 2015-10-01T00:00:00Z)"
        ));
    }
    t
}

fn check_rate(key: String, v: f64, problems: &mut Vec<String>) {
    if !(0.0..=1.0).contains(&v) {
        problems.push(format!("{key}: {v} is outside [0, 1]"));
    }
}

fn validate_rates(f: &ScenarioFile, problems: &mut Vec<String>) {
    if f.name.trim().is_empty() {
        problems.push("name: must not be empty".into());
    }
    if f.sizes.posts == 0 {
        problems.push("sizes.posts: must be at least 1".into());
    }
    if !(1..=100_000).contains(&f.sizes.accounts_per_site) {
        problems.push(format!(
            "sizes.accounts_per_site: {} is outside [1, 100000]",
            f.sizes.accounts_per_site
        ));
    }
    match f.sizes.posts_per_thread.as_slice() {
        [a, b] if *a >= 1 && a <= b => {}
        other => problems.push(format!(
            "sizes.posts_per_thread: expected [min, max] with 1 <= min <= max, got {other:?}"
        )),
    }
    let a = f.sizes.articles_share;
    if !(a > 0.0 && a <= 1.0) {
        problems.push(format!("sizes.articles_share: {a} is outside (0, 1]"));
    }
    let mut sum = 0.0;
    for (c, v) in f.violating.pairs() {
        check_rate(format!("violating.{c}"), v, problems);
        sum += v;
    }
    for (k, v) in f.hard_negatives.pairs() {
        check_rate(format!("hard_negatives.{}", k.as_str()), v, problems);
        sum += v;
    }
    if sum > 1.0 + 1e-9 {
        problems.push(format!(
            "violating: with hard_negatives, rates sum to {sum:.4}, more than 1"
        ));
    }
    for (k, v) in f.obfuscation.pairs() {
        check_rate(format!("obfuscation.{k}"), v, problems);
    }
}

fn check_lang_keys(key: &str, m: &PerLang, problems: &mut Vec<String>) {
    for k in m.keys() {
        if k != "any" && k.parse::<Lang>().is_err() {
            problems.push(format!("{key}.{k}: unknown language code"));
        }
    }
}

fn validate_orgs(f: &ScenarioFile, problems: &mut Vec<String>) {
    let mut ids = BTreeSet::new();
    if !f.organisations.iter().any(|o| o.role == Role::Target) {
        problems.push("organisations: no organisation with role = \"target\"".into());
    }
    if f.hard_negatives.lookalike > 0.0
        && !f.organisations.iter().any(|o| o.role == Role::Lookalike)
    {
        problems.push(
            "hard_negatives.lookalike: rate > 0 but no organisation has role = \"lookalike\""
                .into(),
        );
    }
    for (i, o) in f.organisations.iter().enumerate() {
        let key = format!("organisations[{i}]");
        if !ids.insert(o.id.clone()) {
            problems.push(format!("{key}.id: duplicate id {:?}", o.id));
        }
        if o.canonical.trim().is_empty() {
            problems.push(format!("{key}.canonical: must not be empty"));
        }
        check_lang_keys(&format!("{key}.names"), &o.names, problems);
        check_lang_keys(&format!("{key}.slogans"), &o.slogans, problems);
        check_lang_keys(&format!("{key}.hashtags"), &o.hashtags, problems);
        if let Leaders::PerLang(m) = &o.leaders {
            check_lang_keys(&format!("{key}.leaders"), m, problems);
        }
        for (l, v) in &o.hashtags {
            for h in &v.0 {
                if !h.starts_with('#') || h.len() < 2 || h.chars().any(char::is_whitespace) {
                    problems.push(format!(
                        "{key}.hashtags.{l}: {h:?} is not a hashtag (# followed by no spaces)"
                    ));
                }
            }
        }
    }
    check_lang_keys("towns", &f.towns, problems);
}

fn validate_sites(f: &ScenarioFile, problems: &mut Vec<String>) -> Vec<Site> {
    let mut hosts = BTreeSet::new();
    let mut out = Vec::new();
    if f.sites.is_empty() {
        problems.push("sites: at least one [[sites]] entry is needed".into());
    }
    for (i, s) in f.sites.iter().enumerate() {
        let key = format!("sites[{i}]");
        let host = s.host.to_ascii_lowercase();
        let label_ok = host.split('.').all(|l| {
            !l.is_empty()
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
        if !host.ends_with(".test") || host == ".test" || !label_ok {
            problems.push(format!(
                "{key}.host: {:?} is not a host name under .test",
                s.host
            ));
        }
        if !hosts.insert(host.clone()) {
            problems.push(format!("{key}.host: duplicate host {:?}", s.host));
        }
        let mut langs = Vec::new();
        if s.langs.is_empty() {
            problems.push(format!("{key}.langs: must name at least one language"));
        }
        for (code, w) in &s.langs {
            match code.parse::<Lang>() {
                Ok(Lang::Und) | Err(_) => {
                    problems.push(format!("{key}.langs.{code}: unknown language"))
                }
                Ok(l) => {
                    if !(w.is_finite() && *w > 0.0) {
                        problems.push(format!("{key}.langs.{code}: weight {w} must be > 0"));
                    } else {
                        langs.push((l, *w));
                    }
                }
            }
        }
        if !(1..=3).contains(&s.style) {
            problems.push(format!("{key}.style: {} is not 1, 2 or 3", s.style));
        }
        let cs = charset(&s.charset);
        if cs.is_none() {
            problems.push(format!(
                "{key}.charset: unknown charset {:?} (expected utf-8, windows-1251 or gbk)",
                s.charset
            ));
        }
        if !(s.share.is_finite() && s.share > 0.0) {
            problems.push(format!("{key}.share: {} must be > 0", s.share));
        }
        langs.sort_by_key(|l| l.0.code());
        let main_lang = langs
            .iter()
            .fold(None::<(Lang, f64)>, |best, &(l, w)| match best {
                Some((_, bw)) if bw >= w => best,
                _ => Some((l, w)),
            })
            .map(|b| b.0)
            .unwrap_or(Lang::En);
        let (charset, encoding) = cs.unwrap_or(("utf-8", encoding_rs::UTF_8));
        if !langs.is_empty() {
            out.push(Site {
                host,
                kind: s.kind,
                langs,
                main_lang,
                style: s.style.clamp(1, 3),
                charset,
                encoding,
                share: s.share,
                jsonld: s.jsonld,
            });
        }
    }
    out
}

/// Loads the bank of `lang` from `dir/<code>.toml` if present there, else the embedded one.
fn load_bank(lang: Lang, dir: Option<&Path>) -> Result<Option<(PhraseBank, PathBuf)>, CorpusError> {
    if let Some(dir) = dir {
        let p = dir.join(format!("{}.toml", lang.code()));
        if p.is_file() {
            let text = std::fs::read_to_string(&p).map_err(|e| CorpusError::io(&p, e))?;
            return Ok(Some((parse_toml(&text, &p)?, p)));
        }
    }
    match embedded::bank(lang) {
        Some(text) => {
            let p = PathBuf::from(format!("<embedded>/lang/{}.toml", lang.code()));
            Ok(Some((parse_toml(text, &p)?, p)))
        }
        None => Ok(None),
    }
}

fn validate_bank(
    b: &PhraseBank,
    lang: Lang,
    path: &Path,
    f: &ScenarioFile,
    problems: &mut Vec<String>,
) {
    let key = format!("{}", path.display());
    if b.lang.parse::<Lang>().ok() != Some(lang) {
        problems.push(format!(
            "{key}: lang: {:?} but the file is for {:?}",
            b.lang,
            lang.code()
        ));
    }
    if !SCRIPTS.contains(&b.script.as_str()) {
        problems.push(format!(
            "{key}: script: {:?} is not one of {SCRIPTS:?}",
            b.script
        ));
    }
    if b.people.given.is_empty() {
        problems.push(format!("{key}: people.given: missing or empty"));
    }
    if b.people.family.is_empty() {
        problems.push(format!("{key}: people.family: missing or empty"));
    }
    if !b.chatter.values().any(|v| !v.is_empty()) {
        problems.push(format!("{key}: chatter: missing or empty"));
    }
    let mut check = |section: String, list: &[String], needed: bool| {
        if needed && list.is_empty() {
            problems.push(format!("{key}: {section}: missing or empty"));
        }
        for t in list {
            for p in placeholders(t) {
                if !PLACEHOLDERS.contains(&p) {
                    problems.push(format!(
                        "{key}: {section}: unknown placeholder {{{p}}} in {t:?}"
                    ));
                }
            }
        }
    };
    for (topic, lines) in &b.chatter {
        check(format!("chatter.{topic}"), lines, false);
    }
    for (k, rate) in f.hard_negatives.pairs() {
        check(
            format!("negative.{}", k.as_str()),
            b.negative.get(k),
            rate > 0.0,
        );
    }
    for (c, rate) in f.violating.pairs() {
        check(format!("violating.{c}"), b.violating.get(c), rate > 0.0);
    }
    let ui = &b.ui;
    for (name, t, ph) in [
        ("member_posts", &ui.member_posts, "{n}"),
        ("post_count", &ui.post_count, "{n}"),
        ("comments", &ui.comments, "{n}"),
        ("in_reply_to", &ui.in_reply_to, "{user}"),
        ("replying_to", &ui.replying_to, "{user}"),
    ] {
        if !t.contains(ph) {
            problems.push(format!("{key}: ui.{name}: {t:?} lacks {ph}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found() {
        assert_eq!(
            placeholders("join {org} in {town}! {x"),
            vec!["org", "town"]
        );
        assert_eq!(placeholders("{ not } {Org} {org_short}"), vec!["org_short"]);
    }

    #[test]
    fn ui_is_optional_and_falls_back_to_english_key_by_key() {
        let p = Path::new("x.toml");
        let base = "lang = \"ru\"\nscript = \"Cyrl\"\n";
        let bare: PhraseBank = parse_toml(base, p).unwrap();
        assert_eq!(bare.ui, UiBank::default());
        assert_eq!(bare.ui.board_name("dacha_life"), "Dacha life");
        let partial: PhraseBank = parse_toml(
            &format!(
                "{base}[ui]\nforum_index = \"Список форумов\"\n[ui.boards]\ndacha = \"Дача\"\n"
            ),
            p,
        )
        .unwrap();
        assert_eq!(partial.ui.forum_index, "Список форумов");
        assert_eq!(partial.ui.calendar, "Calendar");
        assert_eq!(partial.ui.board_name("dacha"), "Дача");
        assert_eq!(partial.ui.board_name("cars"), "Cars");
        assert_eq!(partial.ui.section_name("world"), "World");
        assert_eq!(UiBank::count(&partial.ui.member_posts, 7), "Posts: 7");
        // Unknown keys are positioned errors like everywhere else in a bank.
        let e = parse_toml::<PhraseBank>(&format!("{base}[ui]\nhome = \"x\"\nhoem = \"y\"\n"), p)
            .unwrap_err();
        assert!(e.to_string().contains("x.toml:5:"), "{e}");
        // A count template without {n} / a reply template without {user} is a problem.
        let f: ScenarioFile = parse_toml(embedded::DEFAULT_SCENARIO, p).unwrap();
        let mut bad = bare.clone();
        bad.ui.comments = "Comments".into();
        bad.ui.replying_to = "Replying".into();
        let mut problems = Vec::new();
        validate_bank(&bad, Lang::Ru, p, &f, &mut problems);
        let ui: Vec<&String> = problems.iter().filter(|x| x.contains("ui.")).collect();
        assert_eq!(ui.len(), 2, "{problems:?}");
        assert!(ui[0].contains("ui.comments") && ui[1].contains("ui.replying_to"));
    }

    #[test]
    fn shipped_banks_have_native_chrome_that_legacy_charsets_hold() {
        let s = Scenario::default_scenario().unwrap();
        assert_eq!(s.banks.len(), 12);
        for (lang, b) in &s.banks {
            for topic in b.chatter.keys() {
                assert!(
                    b.ui.boards.contains_key(topic),
                    "{lang}: no board name for {topic}"
                );
            }
            for slug in crate::corpus::render::news::SECTIONS {
                assert!(
                    b.ui.sections.contains_key(slug),
                    "{lang}: no section {slug}"
                );
            }
            let english = UiBank::default();
            let same: Vec<String> =
                b.ui.strings()
                    .into_iter()
                    .zip(english.strings())
                    .filter(|((_, a), (_, e))| a == e)
                    .map(|((k, _), _)| k)
                    .collect();
            if *lang != Lang::En {
                assert!(same.is_empty(), "{lang}: English chrome left in {same:?}");
            }
        }
        let ashen =
            Scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("corpora/ashen-crown.toml"))
                .unwrap();
        for sc in [&s, &ashen] {
            for site in sc.sites.iter().filter(|x| x.charset != "utf-8") {
                for (k, v) in sc.banks[&site.main_lang].ui.strings() {
                    let (_, _, unmappable) = site.encoding.encode(v);
                    assert!(
                        !unmappable,
                        "{}: ui.{k} {v:?} not in {}",
                        site.host, site.charset
                    );
                }
            }
        }
    }

    #[test]
    fn default_scenario_is_valid() {
        let s = Scenario::default_scenario().expect("embedded default scenario");
        assert!(s.sites.len() >= 3);
        assert!(s.banks.contains_key(&Lang::En));
    }

    #[test]
    fn bank_problems_and_duplicate_hosts_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        let lang = dir.path().join("lang");
        std::fs::create_dir(&lang).unwrap();
        let en = embedded::bank(Lang::En).unwrap().replacen(
            "[violating]",
            "[violating]\nthreat = [\"we hunt {nobody}\"]\n[unused]",
            1,
        );
        // The replacement adds a section name serde rejects: a positioned parse error.
        std::fs::write(lang.join("en.toml"), &en).unwrap();
        let err = Scenario::from_parts(
            embedded::DEFAULT_SCENARIO,
            &dir.path().join("s.toml"),
            Some(&lang),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("en.toml:"), "{err}");
        // A bank without a section and with an unknown placeholder: listed with key paths.
        let en = embedded::bank(Lang::En).unwrap();
        let neg = en.find("[negative]").unwrap();
        let en = format!("{}{}", &en[..neg], en[neg..].replacen("{org}", "{orgg}", 1));
        let cut = en.find("[violating]").unwrap();
        std::fs::write(lang.join("en.toml"), &en[..cut]).unwrap();
        let text =
            embedded::DEFAULT_SCENARIO.replace("host = \"yurt.test\"", "host = \"chirp.test\"");
        let err = Scenario::from_parts(&text, &dir.path().join("s.toml"), Some(&lang))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("violating.incitement: missing or empty"),
            "{err}"
        );
        assert!(err.contains("unknown placeholder {orgg}"), "{err}");
        assert!(
            err.contains(".host: duplicate host \"chirp.test\""),
            "{err}"
        );
    }

    #[test]
    fn syntax_error_is_positioned() {
        let err = Scenario::from_parts("name = \"x\"\nseed = [\n", Path::new("s.toml"), None)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("s.toml:"), "{err}");
        assert!(
            err.split(':').nth(1).unwrap().parse::<usize>().is_ok(),
            "{err}"
        );
    }

    #[test]
    fn semantic_problems_are_all_listed() {
        let text = embedded::DEFAULT_SCENARIO
            .replace("incitement = 0.015", "incitement = 1.5")
            .replace("host = \"chirp.test\"", "host = \"chirp.example\"")
            .replace("charset = \"gbk\"", "charset = \"koi8\"");
        let err = Scenario::from_parts(&text, Path::new("s.toml"), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("violating.incitement: 1.5 is outside [0, 1]"),
            "{err}"
        );
        assert!(err.contains("sums to") || err.contains("sum to"), "{err}");
        assert!(
            err.contains(".host: \"chirp.example\" is not a host name under .test"),
            "{err}"
        );
        assert!(err.contains(".charset: unknown charset \"koi8\""), "{err}");
    }

    #[test]
    fn semantic_problems_point_at_their_value() {
        let text = embedded::DEFAULT_SCENARIO
            .replace("incitement = 0.015", "incitement = 1.5")
            .replace("charset = \"gbk\"", "charset = \"koi8\"");
        let err = Scenario::from_parts(&text, Path::new("s.toml"), None)
            .unwrap_err()
            .to_string();
        // The position is where the offending value starts, found by searching the text.
        let at = |needle: &str| {
            let off = text.find(needle).unwrap() + needle.find(['1', '"']).unwrap();
            let (l, c) = crate::util::line_col(&text, off);
            format!("s.toml:{l}:{c}: ")
        };
        let inc = format!("{}violating.incitement: 1.5", at("incitement = 1.5"));
        assert!(err.contains(&inc), "{inc} not in {err}");
        let cs = at("charset = \"koi8\"");
        assert!(
            err.lines()
                .any(|l| l.contains(&cs) && l.contains("unknown charset")),
            "{cs} not in {err}"
        );
    }

    #[test]
    fn locate_walks_tables_arrays_ids_and_stops_at_missing_keys() {
        let text = "a = 1\n[[orgs]]\nid = \"x\"\n[orgs.names]\nen = [\"A\"]\n[[sites]]\nhost = \"h.test\"\n";
        let doc = toml::de::DeTable::parse(text).unwrap();
        let pos = |k: &str| locate(doc.get_ref(), k).map(|o| crate::util::line_col(text, o));
        assert_eq!(pos("a"), Some((1, 5)));
        assert_eq!(pos("orgs.x.names.en"), Some((5, 6)));
        assert!(pos("orgs[0].names").is_some());
        assert_eq!(
            pos("orgs[0].names.zz"),
            pos("orgs[0].names"),
            "missing key: its parent"
        );
        assert_eq!(pos("sites[0].host"), Some((7, 8)));
        assert_eq!(pos("sites[9].host"), pos("sites"));
        assert_eq!(pos("nope.x"), None);
        assert_eq!(pos("corpora/lang/ky.toml"), None);
    }
}
