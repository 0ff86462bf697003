//! Search: tantivy query syntax over the text fields, exact filters, sorting, snippets that
//! highlight the matched words in the ORIGINAL text, and facet counts.
//!
//! A bare term searches `title` and the stemmed field of every language (or of the `--lang`
//! languages), each analysed as that field's language: `joining` matches English posts whose stem
//! is `join`, `j0in` matches too (the rules' normaliser undoes leet). `text:word` matches the
//! literal word only. Terms are ANDed by
//! default (write `OR` explicitly). Field syntax works for the text fields (`title:rally`,
//! `stem_ru:...`) and the exact string fields (`author:...`, `thread:...`, `cluster:...`).

use std::collections::{HashMap, HashSet};
use std::ops::Bound;

use serde::Serialize;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, Occur, Query, QueryParser, QueryParserError, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DateTime, DocAddress, Order, Term};

use super::analyzer::words;
use super::facets::{self, Facets};
use super::schema::Fields;
use super::writer::facet;
use super::{IndexError, IndexStore, Result};
use crate::classify::text::analyze;
use crate::model::{Category, Item, Lang, ReviewStatus, Timestamp};

/// Largest page size a search accepts.
pub const MAX_LIMIT: usize = 10_000;

/// Exact filters, ANDed; a list matches any of its values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Languages.
    pub langs: Vec<Lang>,
    /// Categories.
    pub categories: Vec<Category>,
    /// Hosts.
    pub hosts: Vec<String>,
    /// Fired rule ids.
    pub rules: Vec<String>,
    /// Review statuses.
    pub statuses: Vec<ReviewStatus>,
    /// Near-duplicate cluster keys.
    pub clusters: Vec<String>,
    /// Minimum score (inclusive).
    pub min_score: Option<f32>,
    /// Published at or after.
    pub since: Option<Timestamp>,
    /// Published at or before.
    pub until: Option<Timestamp>,
}

/// Result order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SortBy {
    /// Classifier score, highest first.
    #[default]
    Score,
    /// Publication time, newest first (items without one last).
    Published,
    /// BM25 relevance to the query.
    Relevance,
}

/// A search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    /// Tantivy query syntax; empty or `*` matches everything.
    pub query: String,
    /// Exact filters.
    pub filter: Filter,
    /// Order.
    pub sort: SortBy,
    /// Page size (0 = only count and facets).
    pub limit: usize,
    /// Hits to skip.
    pub offset: usize,
    /// Whether to count facets.
    pub facets: bool,
    /// Snippet length in chars.
    pub snippet_chars: usize,
}

impl Default for SearchRequest {
    fn default() -> Self {
        SearchRequest {
            query: String::new(),
            filter: Filter::default(),
            sort: SortBy::Score,
            limit: 20,
            offset: 0,
            facets: false,
            snippet_chars: 200,
        }
    }
}

/// A piece of an item's text with the matched words marked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Snippet {
    /// The fragment, verbatim from the post text.
    pub fragment: String,
    /// Byte ranges inside `fragment` to highlight, sorted, non-overlapping.
    pub highlights: Vec<(usize, usize)>,
    /// The fragment does not start at the start of the text.
    pub cut_start: bool,
    /// The fragment does not reach the end of the text.
    pub cut_end: bool,
}

impl Snippet {
    /// The fragment with each highlight wrapped in `open`/`close`, and `…` where cut.
    pub fn marked(&self, open: &str, close: &str) -> String {
        self.render(open, close, |s| s.to_string())
    }

    /// HTML: text escaped, highlights in `<b>`.
    pub fn to_html(&self) -> String {
        self.render("<b>", "</b>", html_escape)
    }

    fn render(&self, open: &str, close: &str, esc: impl Fn(&str) -> String) -> String {
        let mut out = String::new();
        if self.cut_start {
            out.push('…');
        }
        let mut at = 0;
        for &(s, e) in &self.highlights {
            out.push_str(&esc(&self.fragment[at..s]));
            out.push_str(open);
            out.push_str(&esc(&self.fragment[s..e]));
            out.push_str(close);
            at = e;
        }
        out.push_str(&esc(&self.fragment[at..]));
        if self.cut_end {
            out.push('…');
        }
        out
    }
}

/// Escapes `& < > " '` for HTML text and attributes.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The stored item.
    pub item: Item,
    /// BM25 relevance (only with [`SortBy::Relevance`]).
    pub relevance: Option<f32>,
    /// Best fragment of the text.
    pub snippet: Snippet,
}

/// A page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResults {
    /// Items matching query and filters (all pages).
    pub total: usize,
    /// This page.
    pub hits: Vec<Hit>,
    /// Facet counts over all matching items, when asked.
    pub facets: Option<Facets>,
}

fn set_query(field: Field, values: impl IntoIterator<Item = String>) -> Box<dyn Query> {
    any_term(
        values
            .into_iter()
            .map(|v| Term::from_facet(field, &facet(&v)))
            .collect(),
    )
}

/// One term, or a union of a few (TermSetQuery builds an FST per query: too slow for filters).
fn any_term(mut terms: Vec<Term>) -> Box<dyn Query> {
    if terms.len() == 1
        && let Some(t) = terms.pop()
    {
        return Box::new(TermQuery::new(t, IndexRecordOption::Basic));
    }
    let clauses = terms
        .into_iter()
        .map(|t| {
            let q: Box<dyn Query> = Box::new(TermQuery::new(t, IndexRecordOption::Basic));
            (Occur::Should, q)
        })
        .collect();
    Box::new(BooleanQuery::new(clauses))
}

fn date(t: Timestamp) -> DateTime {
    DateTime::from_timestamp_secs(t.unix_timestamp())
}

/// The filters ANDed with an optional user query (everything when both are absent).
pub(crate) fn filter_query(
    f: &Fields,
    filter: &Filter,
    user: Option<Box<dyn Query>>,
) -> Result<Box<dyn Query>> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    if let Some(q) = user {
        clauses.push((Occur::Must, q));
    }
    if !filter.langs.is_empty() {
        clauses.push((
            Occur::Must,
            set_query(f.lang, filter.langs.iter().map(|l| l.code().into())),
        ));
    }
    if !filter.categories.is_empty() {
        let v = filter.categories.iter().map(|c| c.as_str().to_string());
        clauses.push((Occur::Must, set_query(f.category, v)));
    }
    if !filter.hosts.is_empty() {
        let v = filter.hosts.iter().map(|h| h.to_ascii_lowercase());
        clauses.push((Occur::Must, set_query(f.host, v)));
    }
    if !filter.rules.is_empty() {
        clauses.push((Occur::Must, set_query(f.rule, filter.rules.iter().cloned())));
    }
    if !filter.statuses.is_empty() {
        let v = filter.statuses.iter().map(|s| s.as_str().to_string());
        clauses.push((Occur::Must, set_query(f.status, v)));
    }
    if !filter.clusters.is_empty() {
        let terms = filter
            .clusters
            .iter()
            .map(|c| Term::from_field_text(f.cluster, c))
            .collect();
        clauses.push((Occur::Must, any_term(terms)));
    }
    if let Some(min) = filter.min_score {
        if !min.is_finite() {
            return Err(IndexError::InvalidRequest(format!(
                "min score {min} is not a number"
            )));
        }
        let lo = Term::from_field_f64(f.score, f64::from(min));
        clauses.push((
            Occur::Must,
            Box::new(RangeQuery::new(Bound::Included(lo), Bound::Unbounded)),
        ));
    }
    if let (Some(s), Some(u)) = (filter.since, filter.until)
        && s > u
    {
        return Err(IndexError::InvalidRequest(format!(
            "--since {} is after --until {}",
            crate::model::rfc3339(s),
            crate::model::rfc3339(u)
        )));
    }
    if filter.since.is_some() || filter.until.is_some() {
        let lo = filter
            .since
            .map(|t| Bound::Included(Term::from_field_date(f.published, date(t))))
            .unwrap_or(Bound::Unbounded);
        let hi = filter
            .until
            .map(|t| Bound::Included(Term::from_field_date(f.published, date(t))))
            .unwrap_or(Bound::Unbounded);
        clauses.push((Occur::Must, Box::new(RangeQuery::new(lo, hi))));
    }
    Ok(match clauses.len() {
        0 => Box::new(AllQuery),
        1 if clauses[0].0 == Occur::Must => {
            clauses.pop().map(|(_, q)| q).unwrap_or(Box::new(AllQuery))
        }
        _ => Box::new(BooleanQuery::new(clauses)),
    })
}

/// Parses a user query. Errors carry the 1-based column of the problem.
pub fn parse_query(
    store: &IndexStore,
    query: &str,
    langs: &[Lang],
) -> Result<Option<Box<dyn Query>>> {
    let trimmed = query.trim();
    if trimmed.is_empty() || trimmed == "*" {
        return Ok(None);
    }
    let f = store.fields();
    // Bare terms search the title and the stemmed fields: every post is in exactly one stem
    // field, analysed the way the query term is analysed for that language, so `text` (literal
    // words, still searchable as `text:word`) would only add a duplicate posting list per term.
    let mut default_fields = vec![f.title];
    let langs: &[Lang] = if langs.is_empty() { Lang::ALL } else { langs };
    default_fields.extend(langs.iter().map(|&l| f.stem(l)));
    let mut parser = QueryParser::for_index(store.index(), default_fields);
    parser.set_conjunction_by_default();
    parser
        .parse_query(query)
        .map(Some)
        .map_err(|e| positioned(store, query, e))
}

fn positioned(store: &IndexStore, query: &str, err: QueryParserError) -> IndexError {
    let (pos, message) = match &err {
        QueryParserError::SyntaxError(_) => {
            let (_, errors) = tantivy::query_grammar::parse_query_lenient(query);
            match errors.first() {
                Some(e) => (e.pos, format!("syntax error: {}", e.message)),
                None => (query.len(), "syntax error".to_string()),
            }
        }
        QueryParserError::FieldDoesNotExist(name) => {
            let known: Vec<String> = store
                .index()
                .schema()
                .fields()
                .filter(|(_, e)| e.is_indexed())
                .map(|(_, e)| e.name().to_string())
                .filter(|n| !n.starts_with(super::schema::STEM_PREFIX))
                .collect();
            (
                query.find(&format!("{name}:")).unwrap_or(0),
                format!(
                    "unknown field {name:?} (searchable fields: {}, stem_<lang>)",
                    known.join(", ")
                ),
            )
        }
        QueryParserError::ExpectedInt(_)
        | QueryParserError::ExpectedFloat(_)
        | QueryParserError::ExpectedBool(_)
        | QueryParserError::DateFormatError(_) => {
            let typed = [
                super::schema::SCORE,
                super::schema::PUBLISHED,
                super::schema::FETCHED,
            ];
            let pos = typed
                .iter()
                .filter_map(|f| query.find(&format!("{f}:")))
                .min()
                .unwrap_or(0);
            let what = match &err {
                QueryParserError::DateFormatError(_) => "an RFC 3339 date",
                QueryParserError::ExpectedFloat(_) => "a number",
                QueryParserError::ExpectedInt(_) => "an integer",
                _ => "true or false",
            };
            (pos, format!("expected {what} as the value of this field"))
        }
        QueryParserError::AllButQueryForbidden => (
            0,
            "a query cannot only exclude terms (add a term to search for)".to_string(),
        ),
        other => (field_position(query, other).unwrap_or(0), other.to_string()),
    };
    let mut pos = pos.min(query.len());
    while !query.is_char_boundary(pos) {
        pos -= 1;
    }
    IndexError::Query {
        query: query.to_string(),
        column: query[..pos].chars().count() + 1,
        message,
    }
}

fn field_position(query: &str, err: &QueryParserError) -> Option<usize> {
    let msg = err.to_string();
    let name = msg.split('\'').nth(1)?;
    query.find(&format!("{name}:"))
}

/// Query words with their stems in one language.
type WordStems = Vec<(String, Vec<String>)>;

/// Highlights query terms in text, per field analyser.
///
/// The stem analysis of a whole hit text is the costly part of a search (about half of it), so
/// it is skipped when every stem term of the hit's language is the stem of a query word already
/// found literally in the text (the common case: the reviewer typed the word as written).
struct Highlighter {
    words: HashSet<String>,
    stems: HashMap<Lang, HashSet<String>>,
    /// Per language: query word -> its stems in that language (computed on first use).
    word_stems: std::cell::RefCell<HashMap<Lang, WordStems>>,
}

impl Highlighter {
    /// `query` is the user query; `literal` the same text parsed over the `text` field, whose
    /// terms are the literal (lowercased) query words.
    fn new(f: &Fields, query: Option<&dyn Query>, literal: Option<&dyn Query>) -> Self {
        let mut words = HashSet::new();
        let mut stems: HashMap<Lang, HashSet<String>> = HashMap::new();
        for q in [query, literal].into_iter().flatten() {
            q.query_terms(&mut |term, _| {
                let value = term.value();
                let Some(text) = value.as_str() else { return };
                let field = term.field();
                if field == f.text || field == f.title {
                    words.insert(text.to_string());
                } else if let Some((lang, _)) = f.stems.iter().find(|(_, sf)| *sf == field) {
                    stems.entry(*lang).or_default().insert(text.to_string());
                }
            });
        }
        Highlighter {
            words,
            stems,
            word_stems: Default::default(),
        }
    }

    /// Whether the literal word matches already cover every stem term of `lang`.
    fn covered(&self, lang: Lang, set: &HashSet<String>, found: &HashSet<&str>) -> bool {
        let mut cache = self.word_stems.borrow_mut();
        let per_word = cache.entry(lang).or_insert_with(|| {
            self.words
                .iter()
                .map(|w| {
                    (
                        w.clone(),
                        analyze(w, lang).into_iter().map(|t| t.text).collect(),
                    )
                })
                .collect()
        });
        set.iter().all(|stem| {
            per_word
                .iter()
                .any(|(w, stems)| found.contains(w.as_str()) && stems.iter().any(|s| s == stem))
        })
    }

    fn ranges(&self, text: &str, lang: Lang) -> Vec<(usize, usize)> {
        let mut out: Vec<(usize, usize)> = Vec::new();
        let mut found: HashSet<&str> = HashSet::new();
        if !self.words.is_empty() {
            for (s, e, w) in words(text) {
                if let Some(term) = self.words.get(&w) {
                    found.insert(term.as_str());
                    out.push((s, e));
                }
            }
        }
        if let Some(set) = self
            .stems
            .get(&lang)
            .filter(|s| !s.is_empty() && !self.covered(lang, s, &found))
        {
            out.extend(
                analyze(text, lang)
                    .into_iter()
                    .filter(|t| set.contains(&t.text) && t.start < t.end && t.end <= text.len())
                    .map(|t| (t.start, t.end)),
            );
        }
        out.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(out.len());
        for (s, e) in out {
            if !text.is_char_boundary(s) || !text.is_char_boundary(e) {
                continue;
            }
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        merged
    }

    fn snippet(&self, text: &str, lang: Lang, max_chars: usize) -> Snippet {
        make_snippet(text, &self.ranges(text, lang), max_chars.max(20))
    }
}

/// Picks the window of `max_chars` chars holding the most highlights, on word boundaries.
pub(crate) fn make_snippet(text: &str, ranges: &[(usize, usize)], max_chars: usize) -> Snippet {
    let bounds: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    let char_at = |byte: usize| bounds.partition_point(|&b| b < byte);
    let nchars = bounds.len() - 1;
    let (mut start_c, mut end_c) = (0, nchars.min(max_chars));
    if nchars > max_chars && !ranges.is_empty() {
        let mut best = (0usize, 0usize);
        for (i, &(s, _)) in ranges.iter().enumerate() {
            let sc = char_at(s);
            let n = ranges[i..]
                .iter()
                .take_while(|&&(_, e)| char_at(e) <= sc + max_chars)
                .count();
            if n > best.0 {
                best = (n, i);
            }
        }
        let first = char_at(ranges[best.1].0);
        let last_end = ranges[best.1..best.1 + best.0]
            .last()
            .map(|r| char_at(r.1))
            .unwrap_or(first);
        let slack = max_chars.saturating_sub(last_end - first);
        start_c = first.saturating_sub((slack / 3).min(60));
        end_c = (start_c + max_chars).min(nchars);
        start_c = end_c.saturating_sub(max_chars);
    }
    let (mut sb, mut eb) = (bounds[start_c], bounds[end_c]);
    // Snap to word boundaries without cutting a highlight.
    if sb > 0 {
        let first_hl = ranges.iter().find(|r| r.0 >= sb).map(|r| r.0).unwrap_or(eb);
        if let Some(ws) = text[sb..first_hl.min(eb)].find(char::is_whitespace) {
            sb += ws;
            sb += text[sb..].chars().next().map(char::len_utf8).unwrap_or(0);
        }
    }
    if eb < text.len() {
        let last_hl = ranges
            .iter()
            .rev()
            .find(|r| r.1 <= eb)
            .map(|r| r.1)
            .unwrap_or(sb)
            .max(sb);
        if let Some(ws) = text[last_hl..eb].rfind(char::is_whitespace) {
            eb = last_hl + ws;
        }
    }
    let fragment = &text[sb..eb];
    let highlights = ranges
        .iter()
        .filter(|&&(s, e)| s >= sb && e <= eb)
        .map(|&(s, e)| (s - sb, e - sb))
        .collect();
    Snippet {
        fragment: fragment.to_string(),
        highlights,
        cut_start: sb > 0,
        cut_end: eb < text.len(),
    }
}

/// Runs `req` against `store`.
pub(crate) fn run(store: &IndexStore, req: &SearchRequest) -> Result<SearchResults> {
    if req.limit > MAX_LIMIT {
        return Err(IndexError::InvalidRequest(format!(
            "limit {} is above the maximum of {MAX_LIMIT}",
            req.limit
        )));
    }
    let end = req
        .offset
        .checked_add(req.limit)
        .ok_or_else(|| IndexError::InvalidRequest("offset + limit overflows".into()))?;
    let f = store.fields();
    let user = parse_query(store, &req.query, &req.filter.langs)?;
    let literal = user.as_ref().map(|_| {
        QueryParser::for_index(store.index(), vec![f.text])
            .parse_query_lenient(&req.query)
            .0
    });
    let highlighter = Highlighter::new(f, user.as_deref(), literal.as_deref());
    let query = filter_query(f, &req.filter, user)?;
    let searcher = store.searcher();
    let range = req.offset..end;
    let (ranked, total): (Vec<(Option<f32>, DocAddress)>, usize) = if req.limit == 0 {
        (
            Vec::new(),
            searcher.search(&query, &Count).map_err(|e| store.err(e))?,
        )
    } else {
        match req.sort {
            SortBy::Relevance => {
                let top = TopDocs::for_doc_range(range).order_by_score();
                let (hits, n) = searcher
                    .search(&query, &(top, Count))
                    .map_err(|e| store.err(e))?;
                (hits.into_iter().map(|(s, a)| (Some(s), a)).collect(), n)
            }
            SortBy::Score => {
                let top = TopDocs::for_doc_range(range)
                    .order_by_fast_field::<f64>(super::schema::SCORE, Order::Desc);
                let (hits, n) = searcher
                    .search(&query, &(top, Count))
                    .map_err(|e| store.err(e))?;
                (hits.into_iter().map(|(_, a)| (None, a)).collect(), n)
            }
            SortBy::Published => {
                let top = TopDocs::for_doc_range(range)
                    .order_by_fast_field::<DateTime>(super::schema::PUBLISHED, Order::Desc);
                let (hits, n) = searcher
                    .search(&query, &(top, Count))
                    .map_err(|e| store.err(e))?;
                (hits.into_iter().map(|(_, a)| (None, a)).collect(), n)
            }
        }
    };
    let mut hits = Vec::with_capacity(ranked.len());
    for (relevance, addr) in ranked {
        let item = store.load(&searcher, addr)?;
        let snippet =
            highlighter.snippet(&item.post.text, item.verdict.lang.lang, req.snippet_chars);
        hits.push(Hit {
            item,
            relevance,
            snippet,
        });
    }
    let facets = if req.facets {
        Some(facets::collect(store, &*query)?)
    } else {
        None
    };
    Ok(SearchResults {
        total,
        hits,
        facets,
    })
}

/// An exact-id query (used by callers that need a single item's doc).
pub fn id_query(f: &Fields, id: &str) -> TermQuery {
    TermQuery::new(Term::from_field_text(f.id, id), IndexRecordOption::Basic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_window_holds_the_highlights() {
        let text = format!(
            "{} the target word here {}",
            "lorem ipsum ".repeat(40),
            "dolor sit ".repeat(40)
        );
        let s = text.find("target").unwrap();
        let snip = make_snippet(&text, &[(s, s + 6)], 60);
        assert!(snip.cut_start && snip.cut_end);
        assert_eq!(snip.highlights.len(), 1);
        let (a, b) = snip.highlights[0];
        assert_eq!(&snip.fragment[a..b], "target");
        assert!(snip.fragment.chars().count() <= 60);
        assert_eq!(snip.marked("[", "]").matches("[target]").count(), 1);
    }

    #[test]
    fn snippet_of_short_text_is_whole_and_multibyte_safe() {
        let text = "Слава <Фронту> & всё";
        let s = text.find("Фронту").unwrap();
        let snip = make_snippet(text, &[(s, s + "Фронту".len())], 200);
        assert!(!snip.cut_start && !snip.cut_end);
        assert_eq!(snip.to_html(), "Слава &lt;<b>Фронту</b>&gt; &amp; всё");
    }

    #[test]
    fn snippet_without_highlights_starts_at_the_beginning() {
        let text = "ж".repeat(500);
        let snip = make_snippet(&text, &[], 50);
        assert_eq!(snip.fragment.chars().count(), 50);
        assert!(!snip.cut_start && snip.cut_end);
    }

    #[test]
    fn html_escape_escapes_quotes() {
        assert_eq!(
            html_escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    proptest::proptest! {
        #[test]
        fn snippet_never_panics_and_highlights_stay_inside(
            text in "[a-zж 中,.]{0,300}",
            picks in proptest::collection::vec((0usize..300, 1usize..12), 0..6),
            max in 0usize..120,
        ) {
            let mut ranges: Vec<(usize, usize)> = picks
                .into_iter()
                .filter_map(|(s, l)| {
                    let s = s.min(text.len());
                    let e = (s + l).min(text.len());
                    (text.is_char_boundary(s) && text.is_char_boundary(e) && s < e).then_some((s, e))
                })
                .collect();
            ranges.sort_unstable();
            ranges.dedup_by(|b, a| b.0 < a.1);
            let snip = make_snippet(&text, &ranges, max.max(20));
            for &(a, b) in &snip.highlights {
                proptest::prop_assert!(a < b && b <= snip.fragment.len());
                proptest::prop_assert!(snip.fragment.is_char_boundary(a) && snip.fragment.is_char_boundary(b));
            }
            proptest::prop_assert!(text.contains(&snip.fragment));
            let _ = snip.to_html();
        }
    }
}
