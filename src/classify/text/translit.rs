//! Transliteration keys: Cyrillic and Latin words mapped to one loose Latin key, so a rule
//! written in Cyrillic matches `prisoedinyaites`-style text and a Latin rule matches Cyrillic.
//!
//! The key transliterates Cyrillic (Russian, Kazakh, Kyrgyz, Tajik, Uzbek letters) to Latin, then
//! collapses the spelling choices transliterators disagree on: `sh/sch/shch` -> `s`, `ch/ts/tz`
//! -> `c`, `zh` -> `z`, `kh/x` -> `h`, `gh` -> `g`, `q` -> `k`, `w` -> `v`, `j/y` -> `i`, diacritics
//! dropped, doubled letters collapsed. Lossy on purpose; the matcher only uses it across scripts.

use unicode_normalization::char::decompose_canonical;

use super::hash::FxHashMap;

fn cyr(c: char) -> Option<&'static str> {
    Some(match c {
        'а' | 'ә' => "a",
        'б' => "b",
        'в' => "v",
        'г' | 'ґ' => "g",
        'ғ' => "gh",
        'д' => "d",
        'е' | 'ё' | 'э' | 'є' => "e",
        'ж' => "zh",
        'з' => "z",
        'и' | 'і' | 'ӣ' => "i",
        'ї' => "yi",
        'й' => "y",
        'к' => "k",
        'қ' => "q",
        'л' => "l",
        'м' => "m",
        'н' => "n",
        'ң' => "ng",
        'о' | 'ө' | 'ў' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' | 'ұ' | 'ү' | 'ӯ' => "u",
        'ф' => "f",
        'х' | 'ҳ' | 'һ' => "kh",
        'ц' => "ts",
        'ч' | 'ҷ' => "ch",
        'ш' => "sh",
        'щ' => "shch",
        'ъ' | 'ь' => "",
        'ы' => "y",
        'ю' => "yu",
        'я' => "ya",
        _ => return None,
    })
}

/// Writes the transliteration key of `word` (already normalised, lowercase) into `out`.
pub fn key_into(word: &str, out: &mut String) {
    key_into_with(word, out, &mut String::new());
}

/// [`key_into`] reusing `lat` as the intermediate buffer (the hot path: no allocation).
pub fn key_into_with(word: &str, out: &mut String, lat: &mut String) {
    out.clear();
    lat.clear();
    for c in word.chars() {
        if let Some(s) = cyr(c) {
            lat.push_str(s);
        } else if c.is_ascii() {
            lat.push(c);
        } else {
            let mut base = None;
            decompose_canonical(c, |d| {
                if base.is_none() {
                    base = Some(d);
                }
            });
            match base {
                Some(b) if b.is_ascii() => lat.push(b),
                _ if c == 'ı' => lat.push('i'),
                _ => lat.push(c),
            }
        }
    }
    let b = lat.as_bytes();
    let mut i = 0;
    let mut last: Option<char> = None;
    while i < b.len() {
        let rest = &lat[i..];
        let (k, n) = if rest.starts_with("shch") {
            ('s', 4)
        } else if rest.starts_with("sch") {
            ('s', 3)
        } else if rest.starts_with("sh") {
            ('s', 2)
        } else if rest.starts_with("ch") || rest.starts_with("ts") || rest.starts_with("tz") {
            ('c', 2)
        } else if rest.starts_with("zh") {
            ('z', 2)
        } else if rest.starts_with("kh") {
            ('h', 2)
        } else if rest.starts_with("gh") {
            ('g', 2)
        } else {
            let Some(c) = rest.chars().next() else { break };
            let k = match c {
                'x' => 'h',
                'q' => 'k',
                'w' => 'v',
                'j' | 'y' => 'i',
                _ => c,
            };
            (k, c.len_utf8())
        };
        if last != Some(k) {
            out.push(k);
        }
        last = Some(k);
        i += n;
    }
}

/// The transliteration key of `word`.
pub fn key(word: &str) -> String {
    let mut s = String::new();
    key_into(word, &mut s);
    s
}

/// Per-worker cache of [`key_into`]: text is Zipfian, so most tokens repeat and a lookup is
/// several times cheaper than the key (measured: keys were ~4% of classify instructions).
#[derive(Debug, Default)]
pub struct KeyCache {
    map: FxHashMap<Box<str>, u32>,
    keys: Vec<Box<str>>,
    key: String,
    lat: String,
}

/// Entries kept before the cache starts over.
const KEY_CACHE_MAX: usize = 200_000;
/// Longest word cached, in bytes.
const KEY_CACHE_MAX_WORD: usize = 64;

impl KeyCache {
    /// A new, empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The transliteration key of `word` (the same as [`key`]), cached.
    pub fn key(&mut self, word: &str) -> &str {
        // Long words are not cached (bounds the cache's memory whatever the input).
        if word.len() > KEY_CACHE_MAX_WORD {
            key_into_with(word, &mut self.key, &mut self.lat);
            return &self.key;
        }
        if let Some(&i) = self.map.get(word) {
            return &self.keys[i as usize];
        }
        if self.map.len() > KEY_CACHE_MAX {
            self.map.clear();
            self.keys.clear();
        }
        key_into_with(word, &mut self.key, &mut self.lat);
        let i = self.keys.len();
        self.keys.push(self.key.as_str().into());
        self.map.insert(word.into(), i as u32);
        &self.keys[i]
    }
}

#[cfg(test)]
mod tests {
    use super::{KeyCache, key};

    #[test]
    fn cached_keys_equal_fresh_keys() {
        let mut c = KeyCache::new();
        let long = "ж".repeat(40);
        for w in [
            "фонарь",
            "fonar",
            "жги",
            "фонарь",
            "ҳеҷ",
            "fonar",
            "",
            &long,
            &long,
        ] {
            assert_eq!(c.key(w), key(w), "{w:?}");
        }
    }

    #[test]
    fn cyrillic_and_its_transliterations_meet() {
        assert_eq!(key("присоединяйтесь"), key("prisoedinyaites"));
        assert_eq!(key("присоединяйтесь"), key("prisoedinjajtes"));
        assert_eq!(key("фонарь"), key("fonar"));
        assert_eq!(key("жги"), key("zhgi"));
        assert_eq!(key("ҳеҷ"), key("hech"));
    }
}
