//! The default scenario and phrase banks, compiled into the binary (`include_str!`), so
//! `trawl seed` with no scenario works from any directory.

use crate::model::Lang;

/// `corpora/default.toml`.
pub const DEFAULT_SCENARIO: &str = include_str!("../../corpora/default.toml");

/// `(language, corpora/lang/<code>.toml)` for every shipped phrase bank.
pub const BANKS: &[(Lang, &str)] = &[
    (Lang::En, include_str!("../../corpora/lang/en.toml")),
    (Lang::Ru, include_str!("../../corpora/lang/ru.toml")),
    (Lang::Zh, include_str!("../../corpora/lang/zh.toml")),
    (Lang::Ar, include_str!("../../corpora/lang/ar.toml")),
    (Lang::Fa, include_str!("../../corpora/lang/fa.toml")),
    (Lang::Tr, include_str!("../../corpora/lang/tr.toml")),
    (Lang::Hi, include_str!("../../corpora/lang/hi.toml")),
    (Lang::Ur, include_str!("../../corpora/lang/ur.toml")),
    (Lang::Kk, include_str!("../../corpora/lang/kk.toml")),
    (Lang::Ky, include_str!("../../corpora/lang/ky.toml")),
    (Lang::Tg, include_str!("../../corpora/lang/tg.toml")),
    (Lang::Uz, include_str!("../../corpora/lang/uz.toml")),
];

/// The embedded phrase bank of `lang`, if one is shipped.
pub fn bank(lang: Lang) -> Option<&'static str> {
    BANKS.iter().find(|(l, _)| *l == lang).map(|(_, t)| *t)
}
