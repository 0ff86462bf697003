//! Which writing system a character belongs to: a few range checks, enough for tokenising,
//! language decisions and confusable handling (no table crate on the hot path).

/// A writing system, coarse-grained for our languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Script {
    /// Latin letters (incl. Turkish, Uzbek Latin, Western European).
    Latin,
    /// Cyrillic (Russian, Ukrainian, Kazakh, Kyrgyz, Tajik, Uzbek Cyrillic).
    Cyrillic,
    /// Greek (only ever seen as homoglyphs here).
    Greek,
    /// Arabic script (Arabic, Persian, Urdu).
    Arabic,
    /// Han ideographs, kana and Hangul: tokenised per character.
    Cjk,
    /// Devanagari (Hindi).
    Devanagari,
    /// Digits, symbols and every other script.
    Other,
}

impl Script {
    /// Every script, in declaration order: `Script::ALL[s as usize] == s`.
    pub const ALL: [Script; 7] = [
        Script::Latin,
        Script::Cyrillic,
        Script::Greek,
        Script::Arabic,
        Script::Cjk,
        Script::Devanagari,
        Script::Other,
    ];

    /// A display name (`Latin`, `Cyrillic`, `Han`...), used in language decisions.
    pub fn name(self) -> &'static str {
        match self {
            Script::Latin => "Latin",
            Script::Cyrillic => "Cyrillic",
            Script::Greek => "Greek",
            Script::Arabic => "Arabic",
            Script::Cjk => "Han",
            Script::Devanagari => "Devanagari",
            Script::Other => "Other",
        }
    }
}

/// Code points below this are answered from [`TABLE`] (Latin, Greek, Cyrillic, Arabic scripts).
const TABLE_END: u32 = 0x0A00;

/// [`script_by_range`] for every code point below [`TABLE_END`], built at compile time: one load
/// instead of a chain of range compares (`script_of` was ~4% of classify instructions).
static TABLE: [Script; TABLE_END as usize] = {
    let mut t = [Script::Other; TABLE_END as usize];
    let mut u = 0;
    while u < TABLE_END {
        t[u as usize] = script_by_range(u);
        u += 1;
    }
    t
};

/// The script of one character.
#[inline]
pub fn script_of(c: char) -> Script {
    let u = c as u32;
    if u < TABLE_END {
        TABLE[u as usize]
    } else if (0x4E00..=0x9FFF).contains(&u) {
        // Han ideographs: most chars above the table.
        Script::Cjk
    } else {
        script_by_range(u)
    }
}

/// The definition of [`script_of`] for code point `u`.
const fn script_by_range(u: u32) -> Script {
    if u < 0x80 {
        return if matches!(u, 0x41..=0x5A | 0x61..=0x7A) {
            Script::Latin
        } else {
            Script::Other
        };
    }
    match u {
        // Not × (U+00D7) and ÷ (U+00F7).
        0x00C0..=0x024F if u != 0xD7 && u != 0xF7 => Script::Latin,
        0x1E00..=0x1EFF | 0x02BB | 0x02BC => Script::Latin,
        0x0370..=0x03FF | 0x1F00..=0x1FFF => Script::Greek,
        0x0400..=0x052F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => Script::Cyrillic,
        0x0600..=0x06FF | 0x0750..=0x077F | 0x08A0..=0x08FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFE => {
            Script::Arabic
        }
        0x0900..=0x097F | 0xA8E0..=0xA8FF => Script::Devanagari,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xAC00..=0xD7AF => {
            Script::Cjk
        }
        0x20000..=0x2FA1F => Script::Cjk,
        _ => Script::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_of_sample_letters() {
        assert_eq!(script_of('a'), Script::Latin);
        assert_eq!(script_of('ş'), Script::Latin);
        assert_eq!(script_of('ж'), Script::Cyrillic);
        assert_eq!(script_of('қ'), Script::Cyrillic);
        assert_eq!(script_of('ف'), Script::Arabic);
        assert_eq!(script_of('ک'), Script::Arabic);
        assert_eq!(script_of('灯'), Script::Cjk);
        assert_eq!(script_of('ल'), Script::Devanagari);
        assert_eq!(script_of('7'), Script::Other);
        assert_eq!(script_of('×'), Script::Other);
        assert_eq!(script_of('÷'), Script::Other);
        assert_eq!(script_of('ÿ'), Script::Latin);
    }

    /// `lang::count` skips the uppercase check for these scripts.
    #[test]
    fn caseless_scripts_have_no_uppercase() {
        for u in 0..0x3_0000 {
            if let Some(c) = char::from_u32(u)
                && matches!(
                    script_of(c),
                    Script::Arabic | Script::Cjk | Script::Devanagari
                )
            {
                assert!(!c.is_uppercase(), "{u:#x}");
            }
        }
    }

    #[test]
    fn table_equals_ranges() {
        for u in 0..0x3_0000 {
            if let Some(c) = char::from_u32(u) {
                assert_eq!(script_of(c), script_by_range(u), "{u:#x}");
            }
        }
    }
}

#[cfg(test)]
mod all_tests {
    use super::Script;

    #[test]
    fn all_is_indexed_by_discriminant() {
        for (i, s) in Script::ALL.iter().enumerate() {
            assert_eq!(*s as usize, i);
        }
        assert_eq!(Script::ALL[6], Script::Other);
    }
}
