//! Evasion phenomena applied to the signal words of violating posts.
//!
//! Each function takes one word or phrase and returns the obfuscated form; a function that has
//! nothing to work on (no mappable letters, a single grapheme) returns its input unchanged, and
//! the caller records a [`crate::model::Phenomenon`] only when the text actually changed. All of
//! them work on grapheme clusters, so combining marks (Devanagari matras, Arabic harakat) are
//! never split from their base, and none can panic on any input.
//!
//! Inflection is not an obfuscation but a property, decided by [`is_inflected`]: a cue word is
//! "inflected" when it carries an inflectional ending of its language — for en/ru/tr/ar the
//! Snowball stemmer strips something from it; for kk, ky, uz, tg, fa, ur and hi a short list of
//! common case/plural/verb endings matches; Chinese has no inflection.

use rand::{Rng, RngExt};
use unicode_segmentation::UnicodeSegmentation;

use crate::model::Lang;

/// Zero-width characters used by [`zero_width`].
pub const ZERO_WIDTH: [char; 4] = ['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}'];

fn leet_char(c: char) -> Option<char> {
    Some(match c.to_lowercase().next().unwrap_or(c) {
        'a' => '4',
        'e' => '3',
        'i' => '1',
        'o' => '0',
        's' => '5',
        't' => '7',
        'g' => '9',
        'b' => '8',
        'а' => '4',
        'е' => '3',
        'о' => '0',
        'з' => '3',
        'ч' => '4',
        'б' => '6',
        'т' => '7',
        _ => return None,
    })
}

/// Replaces some letters by digits (`join` -> `j01n`); at least one when any letter maps.
pub fn leet<R: Rng>(word: &str, rng: &mut R) -> String {
    let mappable = word.chars().filter(|c| leet_char(*c).is_some()).count();
    if mappable == 0 {
        return word.to_string();
    }
    let forced = (rng.next_u64() % mappable as u64) as usize;
    let mut k = 0;
    word.chars()
        .map(|c| match leet_char(c) {
            Some(d) => {
                let pick = k == forced || rng.random_bool(0.5);
                k += 1;
                if pick { d } else { c }
            }
            None => c,
        })
        .collect()
}

/// Separates the graphemes of each word by `sep` (`join` -> `j o i n`, `j.o.i.n`); spaces between
/// words are kept.
pub fn spaced(text: &str, sep: char) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        for (j, g) in word.graphemes(true).enumerate() {
            if j > 0 {
                out.push(sep);
            }
            out.push_str(g);
        }
    }
    out
}

/// Inserts one or two zero-width characters between graphemes of `word`.
pub fn zero_width<R: Rng>(word: &str, rng: &mut R) -> String {
    let gs: Vec<&str> = word.graphemes(true).collect();
    if gs.len() < 2 {
        return word.to_string();
    }
    let n = 1 + (rng.next_u64() % 2) as usize;
    let mut at: Vec<usize> = (0..n)
        .map(|_| 1 + (rng.next_u64() % (gs.len() as u64 - 1)) as usize)
        .collect();
    at.sort_unstable();
    at.dedup();
    let mut out = String::with_capacity(word.len() + 6);
    for (i, g) in gs.iter().enumerate() {
        if at.contains(&i) {
            out.push(ZERO_WIDTH[(rng.next_u64() % 4) as usize]);
        }
        out.push_str(g);
    }
    out
}

/// Removes the zero-width characters [`zero_width`] inserts.
pub fn strip_zero_width(s: &str) -> String {
    s.chars().filter(|c| !ZERO_WIDTH.contains(c)).collect()
}

/// Latin letter -> Cyrillic look-alike and back.
const HOMOGLYPHS: &[(char, char)] = &[
    ('a', 'а'),
    ('e', 'е'),
    ('o', 'о'),
    ('p', 'р'),
    ('c', 'с'),
    ('x', 'х'),
    ('y', 'у'),
    ('i', 'і'),
    ('A', 'А'),
    ('B', 'В'),
    ('E', 'Е'),
    ('K', 'К'),
    ('M', 'М'),
    ('H', 'Н'),
    ('O', 'О'),
    ('P', 'Р'),
    ('C', 'С'),
    ('T', 'Т'),
    ('X', 'Х'),
];

/// Swaps some letters for look-alikes of the other script (Latin `o` -> Cyrillic `о` in a Latin
/// word, Cyrillic `а` -> Latin `a` in a Cyrillic word); at least one when any letter maps.
pub fn homoglyph<R: Rng>(word: &str, rng: &mut R) -> String {
    let cyr = word.chars().filter(|c| is_cyrillic(*c)).count();
    let lat = word.chars().filter(|c| c.is_ascii_alphabetic()).count();
    let map = |c: char| -> Option<char> {
        HOMOGLYPHS.iter().find_map(|&(l, k)| {
            if lat >= cyr && c == l {
                Some(k)
            } else if cyr > lat && c == k {
                Some(l)
            } else {
                None
            }
        })
    };
    let mappable = word.chars().filter(|c| map(*c).is_some()).count();
    if mappable == 0 {
        return word.to_string();
    }
    let forced = (rng.next_u64() % mappable as u64) as usize;
    let mut k = 0;
    word.chars()
        .map(|c| match map(c) {
            Some(d) => {
                let pick = k == forced || rng.random_bool(0.4);
                k += 1;
                if pick { d } else { c }
            }
            None => c,
        })
        .collect()
}

/// Whether `c` is a Cyrillic letter.
pub fn is_cyrillic(c: char) -> bool {
    matches!(c, '\u{0400}'..='\u{04FF}' | '\u{0500}'..='\u{052F}')
}

fn translit_char(c: char) -> Option<&'static str> {
    Some(match c {
        'а' | 'ә' => "a",
        'б' => "b",
        'в' => "v",
        'г' => "g",
        'ғ' => "gh",
        'д' => "d",
        'е' | 'э' => "e",
        'ё' => "yo",
        'ж' => "zh",
        'з' => "z",
        'и' | 'ӣ' | 'і' => "i",
        'й' => "y",
        'к' => "k",
        'қ' => "q",
        'л' => "l",
        'м' => "m",
        'н' => "n",
        'ң' => "ng",
        'о' | 'ө' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' | 'ұ' | 'ү' | 'ӯ' => "u",
        'ф' => "f",
        'х' | 'ҳ' | 'һ' => "h",
        'ц' => "ts",
        'ч' | 'ҷ' => "ch",
        'ш' => "sh",
        'щ' => "shch",
        'ъ' => "",
        'ы' => "y",
        'ь' => "",
        'ю' => "yu",
        'я' => "ya",
        _ => return None,
    })
}

/// Latin transliteration of Cyrillic text (ru, kk, ky, tg letters); other characters are kept.
/// Idempotent: its output has no Cyrillic letters left to change.
pub fn translit(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let lower: char = c.to_lowercase().next().unwrap_or(c);
        match translit_char(lower) {
            Some(t) if c != lower => {
                let mut cs = t.chars();
                if let Some(f) = cs.next() {
                    out.extend(f.to_uppercase());
                    out.push_str(cs.as_str());
                }
            }
            Some(t) => out.push_str(t),
            None if is_cyrillic(c) => out.push('?'),
            None => out.push(c),
        }
    }
    out
}

/// HTML5 named entities for a few Cyrillic letters (the rest are written numerically).
fn named_entity(c: char) -> Option<&'static str> {
    Some(match c {
        'а' => "&acy;",
        'б' => "&bcy;",
        'в' => "&vcy;",
        'г' => "&gcy;",
        'д' => "&dcy;",
        'е' => "&iecy;",
        'и' => "&icy;",
        'к' => "&kcy;",
        'л' => "&lcy;",
        'м' => "&mcy;",
        'н' => "&ncy;",
        'о' => "&ocy;",
        'п' => "&pcy;",
        'р' => "&rcy;",
        'с' => "&scy;",
        'т' => "&tcy;",
        'у' => "&ucy;",
        'é' => "&eacute;",
        _ => return None,
    })
}

/// The character reference for `c`: style 0 decimal (`&#111;`), 1 hex (`&#x6f;`), 2 named when
/// HTML5 has a name for it (else decimal).
pub fn entity(c: char, style: u8) -> String {
    match style {
        1 => format!("&#x{:x};", c as u32),
        2 => named_entity(c)
            .map(str::to_string)
            .unwrap_or_else(|| format!("&#{};", c as u32)),
        _ => format!("&#{};", c as u32),
    }
}

/// Whether `c` belongs inside a word (letters, digits, combining marks, ZWNJ/ZWJ).
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
        || unicode_normalization::char::is_combining_mark(c)
        || c == '\u{200C}'
        || c == '\u{200D}'
}

const SUFFIXES_KK: &[&str] = &[
    "лар", "лер", "дар", "дер", "тар", "тер", "ға", "ге", "қа", "ке", "ны", "ні", "ды", "ді", "ты",
    "ті", "да", "де", "та", "те", "дың", "дің", "тың", "тің", "ның", "нің", "мыз", "міз", "ңыз",
    "ңіз", "ып", "іп",
];
const SUFFIXES_KY: &[&str] = &[
    "лар", "лер", "лор", "лөр", "дар", "дер", "дор", "дөр", "га", "ге", "го", "гө", "ка", "ке",
    "ны", "ни", "ну", "нү", "ды", "ди", "ду", "дү", "нын", "нин", "нун", "нүн", "быз", "биз",
    "ыңыз", "иңиз",
];
const SUFFIXES_UZ: &[&str] = &[
    "lar", "ni", "ning", "ga", "da", "dan", "imiz", "ingiz", "ish", "gan", "moq", "ing",
];
const SUFFIXES_TG: &[&str] = &["ҳо", "он", "ро", "ам", "ед", "анд", "ем", "ӣ", "ашон"];
const SUFFIXES_FA: &[&str] = &["ها", "های", "هایی", "ان", "ید", "یم", "ند"];
const SUFFIXES_UR: &[&str] = &["وں", "یں", "ئیں", "ے", "ی"];
const SUFFIXES_HI: &[&str] = &["ों", "ें", "ाओ", "ाएं", "ने", "ना", "ी", "े"];

/// Whether a cue word of `lang` is in an inflected (non-dictionary) form; see the module docs.
pub fn is_inflected(word: &str, lang: Lang) -> bool {
    use rust_stemmers::{Algorithm, Stemmer};
    let w = word.to_lowercase();
    let algo = match lang {
        Lang::En => Some(Algorithm::English),
        Lang::Ru => Some(Algorithm::Russian),
        Lang::Tr => Some(Algorithm::Turkish),
        Lang::Ar => Some(Algorithm::Arabic),
        _ => None,
    };
    if let Some(a) = algo {
        thread_local! {
            static STEMMERS: std::cell::RefCell<Vec<(Lang, Stemmer)>> =
                const { std::cell::RefCell::new(Vec::new()) };
        }
        return STEMMERS.with(|s| {
            let mut s = s.borrow_mut();
            if !s.iter().any(|(l, _)| *l == lang) {
                s.push((lang, Stemmer::create(a)));
            }
            let st = &s.iter().find(|(l, _)| *l == lang).map(|x| &x.1);
            st.is_some_and(|st| st.stem(&w).as_ref() != w)
        });
    }
    let suffixes = match lang {
        Lang::Kk => SUFFIXES_KK,
        Lang::Ky => SUFFIXES_KY,
        Lang::Uz => SUFFIXES_UZ,
        Lang::Tg => SUFFIXES_TG,
        Lang::Fa => SUFFIXES_FA,
        Lang::Ur => SUFFIXES_UR,
        Lang::Hi => SUFFIXES_HI,
        _ => &[],
    };
    let n = w.chars().count();
    suffixes
        .iter()
        .any(|s| w.ends_with(s) && n >= s.chars().count() + 3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn examples() {
        let mut r = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(spaced("join", ' '), "j o i n");
        assert_eq!(spaced("join us", '.'), "j.o.i.n u.s");
        assert_ne!(leet("join", &mut r), "join");
        assert_eq!(translit("Фонарь не гаснет"), "Fonar ne gasnet");
        assert_eq!(translit("Қызыл"), "Qyzyl");
        let h = homoglyph("lantern", &mut r);
        assert_ne!(h, "lantern");
        assert!(h.chars().any(is_cyrillic));
        let h = homoglyph("фонарь", &mut r);
        assert!(h.chars().any(|c| c.is_ascii_alphabetic()));
        assert_eq!(leet("灯笼", &mut r), "灯笼");
    }

    #[test]
    fn entities_decode_back() {
        for c in ['а', 'о', 'j', '灯', 'é', '<'] {
            for s in 0..3 {
                let e = entity(c, s);
                assert_eq!(htmlize::unescape(e.as_str()), c.to_string(), "{e}");
            }
        }
    }

    #[test]
    fn inflection() {
        assert!(is_inflected("fighters", Lang::En));
        assert!(!is_inflected("join", Lang::En));
        assert!(is_inflected("вступайте", Lang::Ru));
        assert!(!is_inflected("灯笼", Lang::Zh));
    }

    proptest! {
        #[test]
        fn never_panic_and_reversible(s in "\\PC{0,30}", seed in any::<u64>()) {
            let mut r = ChaCha8Rng::seed_from_u64(seed);
            let z = zero_width(&s, &mut r);
            prop_assert_eq!(strip_zero_width(&z), strip_zero_width(&s));
            let l = leet(&s, &mut r);
            prop_assert_eq!(l.chars().count(), s.chars().count());
            let h = homoglyph(&s, &mut r);
            prop_assert_eq!(h.chars().count(), s.chars().count());
            let t = translit(&s);
            prop_assert_eq!(translit(&t), t.clone());
            prop_assert!(!t.chars().any(is_cyrillic));
            let sp = spaced(&s, '.');
            prop_assert_eq!(sp.replace('.', ""), s.replace('.', ""));
            let _ = is_inflected(&s, Lang::Ru);
            let _ = is_inflected(&s, Lang::Kk);
        }
    }
}
