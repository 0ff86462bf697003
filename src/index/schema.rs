//! The tantivy schema: every field name lives here, once.
//!
//! Filters (`lang`, `host`, `category`, `rule`, `status`) are single-level facets, so one field
//! serves both `--facets` counts and exact filtering. The post text is indexed twice: `text` with
//! the plain word analyser (exact words, any script) and `stem_<lang>` with the rule engine's own
//! analyser for the post's language, so a query term stems exactly as the rules stem it. The full
//! [`Item`](crate::model::Item) is stored as JSON (minus the text, which `text` already stores).

use tantivy::schema::{
    FAST, FacetOptions, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema,
    TextFieldIndexing, TextOptions,
};

use crate::model::Lang;

/// Item id (`Item::make_id`), the unique key used for upserts.
pub const ID: &str = "id";
/// Post permalink.
pub const URL: &str = "url";
/// Host (facet).
pub const HOST: &str = "host";
/// Site kind (`forum`, `social`, `news`).
pub const SITE_KIND: &str = "site_kind";
/// Thread id.
pub const THREAD: &str = "thread";
/// Author handle, exact.
pub const AUTHOR: &str = "author";
/// Author profile URL.
pub const AUTHOR_URL: &str = "author_url";
/// Publication time (date, fast).
pub const PUBLISHED: &str = "published";
/// Fetch time (date, fast).
pub const FETCHED: &str = "fetched";
/// Language the post was classified in (facet).
pub const LANG: &str = "lang";
/// Post text: stored, plain word analyser.
pub const TEXT: &str = "text";
/// Thread/article title, plain word analyser.
pub const TITLE: &str = "title";
/// Prefix of the per-language stemmed fields (`stem_en`, `stem_ru`, ...).
pub const STEM_PREFIX: &str = "stem_";
/// Classifier score in [0, 1] (f64, fast).
pub const SCORE: &str = "score";
/// Categories of fired rules (facet).
pub const CATEGORY: &str = "category";
/// Fired rule ids (facet).
pub const RULE: &str = "rule";
/// Matched spans, stored JSON.
pub const SPANS: &str = "spans";
/// sha256 of the captured page.
pub const PAGE_SHA256: &str = "page_sha256";
/// Near-duplicate cluster key (16 hex chars).
pub const CLUSTER: &str = "cluster";
/// MinHash signature of the text, 8 packed u64 (fast), to rebuild the cluster table on open.
pub const MINHASH: &str = "minhash";
/// Cluster key as u64 (fast), to rebuild the cluster table on open.
pub const CLUSTER_U64: &str = "cluster_u64";
/// Review status (facet).
pub const STATUS: &str = "status";
/// The whole item as JSON, with `post.text` emptied (it is in `text`).
pub const ITEM_JSON: &str = "item";

/// Tokenizer name of the plain word analyser.
pub const WORDS_TOKENIZER: &str = "trawl_words";

/// Name of the stemmed field for `lang`.
pub fn stem_field_name(lang: Lang) -> String {
    format!("{STEM_PREFIX}{}", lang.code())
}

/// Tokenizer name for the stemmed field of `lang`.
pub fn stem_tokenizer_name(lang: Lang) -> String {
    format!("trawl_stem_{}", lang.code())
}

/// Resolved field handles.
#[derive(Debug, Clone)]
pub struct Fields {
    /// See [`ID`].
    pub id: Field,
    /// See [`URL`].
    pub url: Field,
    /// See [`HOST`].
    pub host: Field,
    /// See [`SITE_KIND`].
    pub site_kind: Field,
    /// See [`THREAD`].
    pub thread: Field,
    /// See [`AUTHOR`].
    pub author: Field,
    /// See [`AUTHOR_URL`].
    pub author_url: Field,
    /// See [`PUBLISHED`].
    pub published: Field,
    /// See [`FETCHED`].
    pub fetched: Field,
    /// See [`LANG`].
    pub lang: Field,
    /// See [`TEXT`].
    pub text: Field,
    /// See [`TITLE`].
    pub title: Field,
    /// One stemmed field per language, in `Lang::ALL` order.
    pub stems: Vec<(Lang, Field)>,
    /// See [`SCORE`].
    pub score: Field,
    /// See [`CATEGORY`].
    pub category: Field,
    /// See [`RULE`].
    pub rule: Field,
    /// See [`SPANS`].
    pub spans: Field,
    /// See [`PAGE_SHA256`].
    pub page_sha256: Field,
    /// See [`CLUSTER`].
    pub cluster: Field,
    /// See [`MINHASH`].
    pub minhash: Field,
    /// See [`CLUSTER_U64`].
    pub cluster_u64: Field,
    /// See [`STATUS`].
    pub status: Field,
    /// See [`ITEM_JSON`].
    pub item: Field,
}

impl Fields {
    /// The stemmed field for `lang`.
    pub fn stem(&self, lang: Lang) -> Field {
        self.stems
            .iter()
            .find(|(l, _)| *l == lang)
            .map(|(_, f)| *f)
            .unwrap_or(self.text)
    }
}

fn analysed(tokenizer: &str, stored: bool) -> TextOptions {
    let opts = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    if stored { opts.set_stored() } else { opts }
}

/// Builds the schema and its field handles.
pub fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let facet = FacetOptions::default;
    let id = b.add_text_field(ID, STRING | STORED);
    let url = b.add_text_field(URL, STRING);
    let host = b.add_facet_field(HOST, facet());
    let site_kind = b.add_text_field(SITE_KIND, STRING);
    let thread = b.add_text_field(THREAD, STRING);
    let author = b.add_text_field(AUTHOR, STRING);
    let author_url = b.add_text_field(AUTHOR_URL, STRING);
    let published = b.add_date_field(PUBLISHED, INDEXED | FAST);
    let fetched = b.add_date_field(FETCHED, INDEXED | FAST);
    let lang = b.add_facet_field(LANG, facet());
    let text = b.add_text_field(TEXT, analysed(WORDS_TOKENIZER, true));
    let title = b.add_text_field(TITLE, analysed(WORDS_TOKENIZER, false));
    let stems = Lang::ALL
        .iter()
        .map(|&l| {
            (
                l,
                b.add_text_field(
                    &stem_field_name(l),
                    analysed(&stem_tokenizer_name(l), false),
                ),
            )
        })
        .collect();
    let score = b.add_f64_field(SCORE, INDEXED | FAST);
    let category = b.add_facet_field(CATEGORY, facet());
    let rule = b.add_facet_field(RULE, facet());
    let spans = b.add_text_field(SPANS, STORED);
    let page_sha256 = b.add_text_field(PAGE_SHA256, STRING);
    let cluster = b.add_text_field(CLUSTER, STRING);
    let minhash = b.add_u64_field(MINHASH, FAST);
    let cluster_u64 = b.add_u64_field(CLUSTER_U64, FAST);
    let status = b.add_facet_field(STATUS, facet());
    let item = b.add_text_field(ITEM_JSON, STORED);
    let fields = Fields {
        id,
        url,
        host,
        site_kind,
        thread,
        author,
        author_url,
        published,
        fetched,
        lang,
        text,
        title,
        stems,
        score,
        category,
        rule,
        spans,
        page_sha256,
        cluster,
        minhash,
        cluster_u64,
        status,
        item,
    };
    (b.build(), fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_a_stem_field_and_names_are_unique() {
        let (schema, fields) = build();
        assert_eq!(fields.stems.len(), Lang::ALL.len());
        let names: std::collections::BTreeSet<_> =
            schema.fields().map(|(_, e)| e.name().to_string()).collect();
        assert_eq!(names.len(), schema.num_fields());
        assert!(names.contains("stem_ru"));
        assert_eq!(fields.stem(Lang::Ru), schema.get_field("stem_ru").unwrap());
    }
}
