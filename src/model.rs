//! Shared data types that flow between the stages.
//!
//! `corpus -> crawl -> extract -> classify -> index -> review -> refer`, with `eval` beside it.
//! Every stage speaks in these types; none of them knows how another stage works.
//!
//! May use: std, serde, time, url. Must not use: any stage.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A timestamp in UTC, serialised as RFC 3339.
pub type Timestamp = OffsetDateTime;

/// Formats a timestamp as RFC 3339 (`2015-10-14T08:00:00Z`).
pub fn rfc3339(t: Timestamp) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Parses an RFC 3339 timestamp.
pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// The identifier of a post, unique within its host (`<host>/<local id>` when global).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PostId(pub String);

impl fmt::Display for PostId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The identifier of a rule inside a rule pack.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RuleId(pub String);

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The kind of software a synthetic (or real) site runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SiteKind {
    /// phpBB-like board: board index, topic lists, topic pages with post blocks.
    Forum,
    /// Mastodon/X-like: timelines, profiles, hashtags, replies.
    Social,
    /// News site: section lists and articles.
    News,
}

impl SiteKind {
    /// All kinds, in a stable order.
    pub const ALL: [SiteKind; 3] = [SiteKind::Forum, SiteKind::Social, SiteKind::News];

    /// The lowercase name used in files and flags.
    pub fn as_str(self) -> &'static str {
        match self {
            SiteKind::Forum => "forum",
            SiteKind::Social => "social",
            SiteKind::News => "news",
        }
    }
}

impl fmt::Display for SiteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Scenario categories, after the legal taxonomy of terrorist content online.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// Incites the commission of offences.
    Incitement,
    /// Solicits participation or commission (recruitment).
    Solicitation,
    /// Provides instruction (the corpus only ever carries placeholder text).
    Instruction,
    /// Threatens to commit an offence.
    Threat,
    /// Glorifies attacks or perpetrators.
    Glorification,
    /// Asks for or moves money for the organisation.
    Financing,
    /// Branded propaganda of the organisation.
    Propaganda,
}

impl Category {
    /// All categories, in a stable order.
    pub const ALL: [Category; 7] = [
        Category::Incitement,
        Category::Solicitation,
        Category::Instruction,
        Category::Threat,
        Category::Glorification,
        Category::Financing,
        Category::Propaganda,
    ];

    /// The lowercase name used in files and flags.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Incitement => "incitement",
            Category::Solicitation => "solicitation",
            Category::Instruction => "instruction",
            Category::Threat => "threat",
            Category::Glorification => "glorification",
            Category::Financing => "financing",
            Category::Propaganda => "propaganda",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Category {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown category {s:?} (expected one of: incitement, solicitation, instruction, threat, glorification, financing, propaganda)"))
    }
}

macro_rules! langs {
    ($( $variant:ident => $code:literal, $name:literal; )*) => {
        /// A language, by ISO 639-1 code. `Und` is "undetermined".
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Lang {
            $(
                #[doc = $name]
                #[serde(rename = $code)]
                $variant,
            )*
        }

        impl Lang {
            /// Every language trawl knows, `Und` last.
            pub const ALL: &'static [Lang] = &[$(Lang::$variant),*];

            /// The ISO 639-1 code (`und` for undetermined).
            pub fn code(self) -> &'static str {
                match self { $(Lang::$variant => $code,)* }
            }

            /// The English name of the language.
            pub fn name(self) -> &'static str {
                match self { $(Lang::$variant => $name,)* }
            }
        }

        impl FromStr for Lang {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.to_ascii_lowercase().as_str() {
                    $($code => Ok(Lang::$variant),)*
                    _ => Err(format!("unknown language code {s:?}")),
                }
            }
        }
    };
}

langs! {
    En => "en", "English";
    Ru => "ru", "Russian";
    Zh => "zh", "Chinese";
    Ar => "ar", "Arabic";
    Fa => "fa", "Persian";
    Tr => "tr", "Turkish";
    Hi => "hi", "Hindi";
    Ur => "ur", "Urdu";
    Kk => "kk", "Kazakh";
    Ky => "ky", "Kyrgyz";
    Tg => "tg", "Tajik";
    Uz => "uz", "Uzbek";
    Uk => "uk", "Ukrainian";
    Fr => "fr", "French";
    De => "de", "German";
    Es => "es", "Spanish";
    Und => "und", "Undetermined";
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One fetched HTTP response, as the crawler saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    /// The URL that was requested (normalised).
    pub url: String,
    /// The URL after redirects.
    pub final_url: String,
    /// HTTP status code.
    pub status: u16,
    /// Response headers, lowercase names, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The raw body bytes, undecoded.
    #[serde(skip)]
    pub body: Vec<u8>,
    /// When the response was received.
    #[serde(with = "time::serde::rfc3339")]
    pub fetched_at: Timestamp,
    /// Lowercase hex sha256 of `body`.
    pub sha256: String,
    /// Crawl depth from the nearest seed.
    pub depth: u32,
}

impl Page {
    /// The first header with this (lowercase) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One post (forum post, status, article) as extracted from a page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Post {
    /// Permalink of the post (page URL plus `#fragment` where the post has an anchor).
    pub url: String,
    /// The site's own id of the post.
    pub post_id: PostId,
    /// Host name (lowercase, no port).
    pub host: String,
    /// Kind of site the post was found on, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_kind: Option<SiteKind>,
    /// Thread / topic / conversation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
    /// Thread or article title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Author display name or handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Author profile URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_url: Option<String>,
    /// Publication time.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub published: Option<Timestamp>,
    /// Language declared by the page or site (`<html lang>`, JSON-LD), not detected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang_hint: Option<Lang>,
    /// Plain text of the post body, paragraphs separated by blank lines, entities decoded.
    pub text: String,
    /// Absolute URLs of links inside the post body.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
}

impl Post {
    /// A post that is only a text (and a page language hint), with an empty URL and host and the
    /// id `example`: what rule examples and tests classify.
    pub fn from_text(text: impl Into<String>, lang_hint: Option<Lang>) -> Post {
        Post {
            url: String::new(),
            post_id: PostId("example".into()),
            host: String::new(),
            site_kind: None,
            thread: None,
            title: None,
            author: None,
            author_url: None,
            published: None,
            lang_hint,
            text: text.into(),
            links: Vec::new(),
        }
    }
}

/// A byte range in a post's ORIGINAL text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Span {
    /// Start byte offset (inclusive), on a char boundary.
    pub start: usize,
    /// End byte offset (exclusive), on a char boundary.
    pub end: usize,
}

/// How the language of a post was decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LangDecision {
    /// The language used for stemming and rule selection.
    pub lang: Lang,
    /// Confidence in [0, 1].
    pub confidence: f32,
    /// What decided it: `letters` (distinctive letters), `whatlang`, `script`, `hint`, `fallback`.
    pub method: String,
    /// Dominant script (e.g. `Cyrillic`, `Latin`, `Han`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
}

/// One matched piece of evidence for a fired rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    /// Byte range in the original text.
    pub span: Span,
    /// The original text of the span.
    pub excerpt: String,
    /// Lexicon the term belongs to.
    pub lexicon: String,
    /// The term as written in the pack.
    pub term: String,
}

/// A rule that fired on a post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FiredRule {
    /// Rule id.
    pub rule: RuleId,
    /// Category the rule assigns.
    pub category: Category,
    /// Rule weight in [0, 1].
    pub weight: f32,
    /// The term matches that made the condition true.
    pub matches: Vec<Match>,
}

/// The classifier's decision about one post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The post's id.
    pub post_id: PostId,
    /// The post's URL.
    pub url: String,
    /// `score >= pack threshold`.
    pub flagged: bool,
    /// 1 - prod(1 - weight) over fired rules.
    pub score: f32,
    /// Categories of fired rules, by descending summed weight.
    pub categories: Vec<Category>,
    /// Rules that fired, with their evidence.
    pub fired: Vec<FiredRule>,
    /// The language decision.
    pub lang: LangDecision,
}

/// Review status of an indexed item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReviewStatus {
    /// Waiting for a reviewer.
    Pending,
    /// Confirmed as violating (by enough reviewers to be referable).
    Confirmed,
    /// Rejected as not violating.
    Rejected,
    /// Escalated to a supervisor.
    Escalated,
    /// Exported in a referral bundle.
    Referred,
}

impl ReviewStatus {
    /// The lowercase name used in files and flags.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Pending => "pending",
            ReviewStatus::Confirmed => "confirmed",
            ReviewStatus::Rejected => "rejected",
            ReviewStatus::Escalated => "escalated",
            ReviewStatus::Referred => "referred",
        }
    }
}

impl fmt::Display for ReviewStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A flagged post with its verdict and evidence, as stored in the index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Stable id: `<host>/<post_id>` hashed (see `Item::make_id`).
    pub id: String,
    /// The post.
    pub post: Post,
    /// The verdict.
    pub verdict: Verdict,
    /// sha256 of the captured page (evidence store key).
    pub page_sha256: String,
    /// When the page was fetched.
    #[serde(with = "time::serde::rfc3339")]
    pub fetched_at: Timestamp,
    /// Near-duplicate cluster key (MinHash LSH, see `index::cluster`), shared by reposts with small
    /// edits.
    pub cluster: String,
    /// Review status.
    pub status: ReviewStatus,
}

impl Item {
    /// The stable item id for a post: 16 hex chars of sha256("host\0post_id").
    pub fn make_id(host: &str, post_id: &PostId) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(host.as_bytes());
        h.update([0u8]);
        h.update(post_id.0.as_bytes());
        hex::encode(&h.finalize()[..8])
    }
}

/// Ground-truth label of a synthetic post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// Violating content of `category`.
    Violating,
    /// Benign, including hard negatives.
    Benign,
}

/// What makes a synthetic post hard to classify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phenomenon {
    /// Cue words in inflected forms.
    Inflection,
    /// Digits/symbols for letters (`j0in`).
    Leet,
    /// Letters separated by spaces or punctuation (`j o i n`, `j.o.i.n`).
    Spaced,
    /// Zero-width characters inside words.
    ZeroWidth,
    /// Cyrillic/Latin/Greek look-alike letters mixed into a word.
    Homoglyph,
    /// Latin transliteration of Cyrillic text.
    Translit,
    /// The organisation or slogan as a hashtag.
    Hashtag,
    /// Two languages mixed in one post.
    CodeMix,
    /// A very short post.
    Short,
    /// A very long post with the signal buried.
    Long,
    /// Characters written as HTML entities in the markup.
    Entities,
    /// A repost of another violating post with small edits.
    Repost,
    /// Hard negative: news report.
    NegNews,
    /// Hard negative: condemnation.
    NegCondemnation,
    /// Hard negative: negation.
    NegNegation,
    /// Hard negative: quoting to report.
    NegQuoting,
    /// Hard negative: sports/gaming/business sense of the same words.
    NegOtherSense,
    /// Hard negative: the harmless look-alike organisation.
    NegLookalike,
}

/// One line of `truth.jsonl`: the answer key for one synthetic post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthRecord {
    /// Permalink of the post (same form as `Post::url`).
    pub url: String,
    /// Post id (same as `Post::post_id`).
    pub post_id: PostId,
    /// Host.
    pub host: String,
    /// Site kind.
    pub site_kind: SiteKind,
    /// Thread id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
    /// Author handle.
    pub author: String,
    /// Language the post was written in (main language for code-mixed posts).
    pub lang: Lang,
    /// Violating or benign.
    pub label: Label,
    /// Category for violating posts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    /// Phenomena applied (evasions for violating posts, hard-negative kind for benign ones).
    #[serde(default)]
    pub phenomena: Vec<Phenomenon>,
    /// Near-duplicate cluster id (reposts share it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Publication time.
    #[serde(with = "time::serde::rfc3339")]
    pub published: Timestamp,
    /// Whether robots.txt disallows the page that holds the post (a polite crawler never sees it).
    #[serde(default)]
    pub robots_disallowed: bool,
}

/// One host of a seeded corpus, as listed in `manifest.json` (seeds for the crawler, never truth).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestHost {
    /// Host name under `.test`.
    pub host: String,
    /// Site kind.
    pub kind: SiteKind,
    /// Charset the host's pages are encoded in (`utf-8`, `windows-1251`, `gbk`).
    pub charset: String,
    /// Entry-point paths (e.g. `/`, `/sitemap.xml`).
    pub entry_points: Vec<String>,
    /// Languages declared for the site.
    pub langs: Vec<Lang>,
    /// Number of files written for this host.
    pub files: u64,
    /// Number of posts on this host.
    pub posts: u64,
}

/// `manifest.json` of a seeded corpus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version of this manifest.
    pub format: u32,
    /// Scenario name.
    pub scenario: String,
    /// sha256 of the scenario file bytes.
    pub scenario_sha256: String,
    /// Seed used.
    pub seed: u64,
    /// Total posts.
    pub posts: u64,
    /// Posts per label/category (`benign`, `incitement`, ...).
    pub counts: std::collections::BTreeMap<String, u64>,
    /// Hosts with their entry points.
    pub hosts: Vec<ManifestHost>,
    /// sha256 over the sorted (path, sha256) list of every file in `sites/`.
    pub tree_sha256: String,
    /// Start of the scenario's time span (the calendar trap opens on its month); absent in
    /// manifests written before it was recorded.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub start: Option<Timestamp>,
}
