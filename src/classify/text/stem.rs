//! The stemmer wrapper shared by rules and search: Snowball (rust-stemmers) for en ru ar tr fr de
//! es, longest-suffix stripping from per-language tables kept as data
//! (`text/suffixes/<lang>.toml`) for kk ky uz tg fa ur hi, nothing for the rest.
//!
//! After stemming, the Turkish dotless `ı` is folded to `i` (so `KIZIL` — lowercased `kizil` —
//! and `kızıl` meet). Stems are cached per worker in [`StemCache`]: text is Zipfian, so most
//! tokens repeat and the cache turns ~21 MB/s of stemming into hash lookups.

use std::borrow::Cow;
use std::sync::OnceLock;

use rust_stemmers::Algorithm;
use serde::Deserialize;

use super::hash::FxHashMap;
use crate::model::Lang;

/// A suffix table: stripped longest-first, repeatedly, while the stem keeps `min_stem` chars.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuffixTable {
    /// Minimum stem length in chars.
    pub min_stem: usize,
    /// How many suffixes may be stripped in a row (agglutinative languages stack them).
    pub passes: usize,
    /// The suffixes, any order (sorted longest-first on load).
    pub suffixes: Vec<String>,
}

macro_rules! tables {
    ($($lang:ident => $file:literal),* $(,)?) => {
        /// The embedded suffix tables, by language.
        fn table_source(lang: Lang) -> Option<(&'static str, &'static str)> {
            match lang {
                $(Lang::$lang => Some(($file, include_str!(concat!("suffixes/", $file)))),)*
                _ => None,
            }
        }
        /// Languages with a suffix table.
        pub const SUFFIX_LANGS: &[Lang] = &[$(Lang::$lang),*];
    };
}

tables! {
    Kk => "kk.toml",
    Ky => "ky.toml",
    Uz => "uz.toml",
    Tg => "tg.toml",
    Fa => "fa.toml",
    Ur => "ur.toml",
    Hi => "hi.toml",
}

/// Parses one embedded suffix table (errors name the file).
pub fn load_table(lang: Lang) -> Result<Option<SuffixTable>, String> {
    let Some((file, src)) = table_source(lang) else {
        return Ok(None);
    };
    let mut t: SuffixTable = toml::from_str(src).map_err(|e| format!("suffixes/{file}: {e}"))?;
    let mut sufs: Vec<String> = t
        .suffixes
        .iter()
        .map(|s| super::normalize::normalize(s).as_str().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    sufs.sort_by(|a, b| b.chars().count().cmp(&a.chars().count()).then(a.cmp(b)));
    sufs.dedup();
    t.suffixes = sufs;
    Ok(Some(t))
}

fn table(lang: Lang) -> Option<&'static SuffixTable> {
    static TABLES: OnceLock<Vec<(Lang, SuffixTable)>> = OnceLock::new();
    let all = TABLES.get_or_init(|| {
        SUFFIX_LANGS
            .iter()
            .filter_map(|&l| match load_table(l) {
                Ok(Some(t)) => Some((l, t)),
                Ok(None) => None,
                Err(e) => {
                    tracing::error!(error = %e, "Suffix table does not parse; stemming disabled for it");
                    None
                }
            })
            .collect()
    });
    all.iter().find(|(l, _)| *l == lang).map(|(_, t)| t)
}

enum Kind {
    Snowball(rust_stemmers::Stemmer),
    Suffix(&'static SuffixTable),
    Identity,
}

/// A stemmer for one language. Cheap to create, `Send + Sync`.
pub struct Stemmer {
    kind: Kind,
}

impl std::fmt::Debug for Stemmer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let k = match self.kind {
            Kind::Snowball(_) => "snowball",
            Kind::Suffix(_) => "suffix-table",
            Kind::Identity => "identity",
        };
        f.write_str(k)
    }
}

impl Stemmer {
    /// The stemmer for `lang` (identity for languages without one, e.g. zh, uk, und).
    pub fn new(lang: Lang) -> Stemmer {
        let alg = match lang {
            Lang::En => Some(Algorithm::English),
            Lang::Ru => Some(Algorithm::Russian),
            Lang::Ar => Some(Algorithm::Arabic),
            Lang::Tr => Some(Algorithm::Turkish),
            Lang::Fr => Some(Algorithm::French),
            Lang::De => Some(Algorithm::German),
            Lang::Es => Some(Algorithm::Spanish),
            _ => None,
        };
        let kind = match alg {
            Some(a) => Kind::Snowball(rust_stemmers::Stemmer::create(a)),
            None => match table(lang) {
                Some(t) => Kind::Suffix(t),
                None => Kind::Identity,
            },
        };
        Stemmer { kind }
    }

    /// The stem of a normalised word.
    pub fn stem<'a>(&self, word: &'a str) -> Cow<'a, str> {
        let s = match &self.kind {
            Kind::Snowball(s) => s.stem(word),
            Kind::Suffix(t) => strip_suffixes(t, word),
            Kind::Identity => Cow::Borrowed(word),
        };
        if s.contains('ı') {
            Cow::Owned(s.replace('ı', "i"))
        } else {
            s
        }
    }
}

fn strip_suffixes<'a>(t: &SuffixTable, word: &'a str) -> Cow<'a, str> {
    let mut cur: &'a str = word;
    for _ in 0..t.passes {
        let n = cur.chars().count();
        // A one-letter suffix is stripped only from longer words: on short words it is as
        // likely part of the root (fa `کارت` is not `کار` + `ت`).
        // `ends_with` first: counting a suffix's chars only for the few that end the word.
        let found = t.suffixes.iter().find(|suf| {
            cur.ends_with(suf.as_str()) && {
                let k = suf.chars().count();
                n >= k + t.min_stem && (k > 1 || n >= 5)
            }
        });
        match found {
            Some(suf) => cur = &cur[..cur.len() - suf.len()],
            None => break,
        }
    }
    Cow::Borrowed(cur)
}

/// Word -> stem, for one language (FxHash: SipHash was most of the cost of a hit).
type StemMap = FxHashMap<Box<str>, u32>;

/// Per-worker stem cache: one map per language, bounded.
///
/// One hash lookup per hit (word -> index into `stems`) and a linear scan over the few
/// languages: the previous `HashMap<Lang, _>` + `contains_key` + `get` hashed three times per
/// token (measured: 860 instructions per hit, 57M of 623M for the bench file).
#[derive(Debug, Default)]
pub struct StemCache {
    maps: Vec<(Lang, Stemmer, StemMap, Vec<Box<str>>)>,
}

const CACHE_MAX: usize = 200_000;

impl StemCache {
    /// A new, empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The stem of `word` in `lang`, cached.
    pub fn stem(&mut self, lang: Lang, word: &str) -> &str {
        let k = match self.maps.iter().position(|m| m.0 == lang) {
            Some(k) => k,
            None => {
                self.maps
                    .push((lang, Stemmer::new(lang), StemMap::default(), Vec::new()));
                self.maps.len() - 1
            }
        };
        let (_, st, map, stems) = &mut self.maps[k];
        if let Some(&i) = map.get(word) {
            return &stems[i as usize];
        }
        if map.len() > CACHE_MAX {
            map.clear();
            stems.clear();
        }
        let i = stems.len();
        stems.push(st.stem(word).into());
        map.insert(word.into(), i as u32);
        &stems[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_suffix_table_parses() {
        for &l in SUFFIX_LANGS {
            let t = load_table(l).expect("parses").expect("present");
            assert!(!t.suffixes.is_empty(), "{l}");
        }
    }

    #[test]
    fn snowball_languages_stem_inflections_together() {
        let ru = Stemmer::new(Lang::Ru);
        assert_eq!(ru.stem("фонарями"), ru.stem("фонарь"));
        let en = Stemmer::new(Lang::En);
        assert_eq!(en.stem("joining"), en.stem("join"));
    }

    #[test]
    fn suffix_tables_strip_case_endings() {
        let kk = Stemmer::new(Lang::Kk);
        assert_eq!(kk.stem("шамды"), kk.stem("шам"));
        assert_eq!(kk.stem("орденге"), kk.stem("орден"));
        let uz = Stemmer::new(Lang::Uz);
        assert_eq!(uz.stem("fonusni"), uz.stem("fonus"));
    }

    #[test]
    fn turkish_dotless_i_meets_dotted_after_stemming() {
        let tr = Stemmer::new(Lang::Tr);
        assert_eq!(tr.stem("kızıl"), tr.stem("kizil"));
    }
}
