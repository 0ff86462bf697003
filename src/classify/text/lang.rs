//! Language identification, bounded in cost: scripts and distinctive letters first, whatlang
//! only on a short sample and only among the languages the script allows, the site's declared
//! language when the text says too little.
//!
//! whatlang 0.18 has no Kazakh, Kyrgyz or Tajik and only Latin Uzbek; it calls their Cyrillic
//! posts Russian without warning. So Cyrillic is decided here by letters: Tajik ӣ ӯ ҷ (ҳ with
//! қ/ғ), Uzbek ў, Kazakh ә ұ і һ (қ ғ), Kyrgyz ң ө ү without the Kazakh ones, Ukrainian ї є ґ;
//! Arabic script by Urdu ٹ ڈ ڑ ں ے, Persian پ چ ژ گ ک ی; Han is Chinese; Devanagari is Hindi.
//! A decision from the absence of letters on a short text is marked low-confidence, and the
//! classifier then stems with every pack language of that script.

use std::sync::OnceLock;

use whatlang::Lang as W;

use super::script::{Script, script_of};
use crate::model::{Lang, LangDecision};

/// How many characters of a post are looked at (scripts, letters).
const SCAN_CHARS: usize = 1500;
/// How many bytes whatlang sees (measured: whatlang runs at ~11 MB/s on whole posts).
const WHATLANG_SAMPLE: usize = 400;

/// Confidence below which a decision is "low": callers widen the language set.
pub const LOW_CONFIDENCE: f32 = 0.5;

/// The script each of our languages is written in (Uzbek: Latin; translit posts differ).
pub fn script_of_lang(l: Lang) -> Script {
    match l {
        Lang::En | Lang::Tr | Lang::Uz | Lang::Fr | Lang::De | Lang::Es => Script::Latin,
        Lang::Ru | Lang::Kk | Lang::Ky | Lang::Tg | Lang::Uk => Script::Cyrillic,
        Lang::Ar | Lang::Fa | Lang::Ur => Script::Arabic,
        Lang::Zh => Script::Cjk,
        Lang::Hi => Script::Devanagari,
        Lang::Und => Script::Other,
    }
}

#[derive(Default)]
struct Counts {
    scripts: [usize; 7],
    letters: usize,
    /// Letters inside `#hashtags`, per script: a tag is a name, not a sample of the post's
    /// language, so these count only when the post has no other letters.
    tag_scripts: [usize; 7],
    /// ASCII letters (outside tags): Latin letters that are not é, ç, ü, ñ, ı...
    ascii: usize,
    // Cyrillic
    uk: usize,
    kk: usize,
    kq: usize,
    ky: usize,
    tg: usize,
    h_tg: usize,
    uz_cyr: usize,
    /// ь ъ щ ё: Russian letters Kazakh, Kyrgyz and Tajik words (loans aside) do without.
    ru: usize,
    // Arabic script
    ur: usize,
    fa: usize,
    ar: usize,
    // Latin
    tr: usize,
    uz_lat: usize,
    /// Latin letter pairs typical of transliterated Cyrillic: `zh`, `kh`, `yy`, and `y` as a
    /// vowel between two consonants (`Kyzyl`, `Bagrovyy`, `ty`) — never Turkish or Uzbek spelling.
    translit: usize,
}

fn count(text: &str) -> Counts {
    let mut k = Counts::default();
    let mut prev = ' ';
    // The two previous lowercase ASCII letters of the current word (' ' otherwise).
    let (mut p2, mut p1) = (' ', ' ');
    let mut in_tag = false;
    for c in text.chars().take(SCAN_CHARS) {
        if c == '#' && !prev.is_alphanumeric() {
            in_tag = true;
            prev = c;
            continue;
        }
        in_tag &= c.is_alphanumeric() || c == '_';
        if in_tag {
            if super::chars::is_alphabetic(c) {
                k.tag_scripts[script_of(c) as usize] += 1;
            }
            // Distinctive letters in a tag still tell the language (#АлқызылШам).
            if !c.is_ascii() {
                count_distinctive(&mut k, c);
            }
            prev = c;
            continue;
        }
        // Uzbek oʻ and gʻ: the modifier letter ʻ (a letter to Unicode) or an apostrophe.
        if matches!(c, 'ʻ' | '\'' | '’' | '‘') && matches!(prev, 'o' | 'g' | 'O' | 'G') {
            k.uz_lat += 1;
            prev = c;
            (p2, p1) = (' ', ' ');
            continue;
        }
        // ASCII letters: Latin, none of them distinctive.
        if c.is_ascii_alphabetic() {
            let a = c.to_ascii_lowercase();
            if (matches!(p1, 'z' | 'k') && a == 'h')
                || (p1 == 'y' && a == 'y')
                || (is_consonant(p2) && p1 == 'y' && is_consonant(a))
            {
                k.translit += 1;
            }
            (p2, p1) = (p1, a);
            k.scripts[Script::Latin as usize] += 1;
            k.letters += 1;
            k.ascii += 1;
            prev = c;
            continue;
        }
        if !super::chars::is_alphabetic(c) {
            prev = c;
            (p2, p1) = (' ', ' ');
            continue;
        }
        // A non-ASCII letter breaks a transliteration pair.
        (p2, p1) = (' ', ' ');
        let sc = script_of(c);
        k.scripts[sc as usize] += 1;
        k.letters += 1;
        count_distinctive(&mut k, c);
        prev = c;
    }
    if k.letters == 0 {
        // Only tags: then they are all there is to go on.
        k.scripts = k.tag_scripts;
        k.letters = k.tag_scripts.iter().sum();
    }
    k
}

/// The tallies of letters that belong to a few languages only.
fn count_distinctive(k: &mut Counts, c: char) {
    let sc = script_of(c);
    // Lowercase letters (the table answers) and letters of caseless scripts are not
    // uppercase: skip std's lookup.
    let caseless = matches!(sc, Script::Arabic | Script::Cjk | Script::Devanagari);
    let l = if !caseless && !super::chars::is_lowercase(c) && c.is_uppercase() {
        c.to_lowercase().next().unwrap_or(c)
    } else {
        c
    };
    match l {
        'ї' | 'є' | 'ґ' => k.uk += 1,
        'ә' | 'ұ' | 'і' | 'һ' => k.kk += 1,
        'қ' | 'ғ' => k.kq += 1,
        'ң' | 'ө' | 'ү' => k.ky += 1,
        'ӣ' | 'ӯ' | 'ҷ' => k.tg += 1,
        'ҳ' => k.h_tg += 1,
        'ў' => k.uz_cyr += 1,
        'ь' | 'ъ' | 'щ' | 'ё' => k.ru += 1,
        'ٹ' | 'ڈ' | 'ڑ' | 'ں' | 'ے' | 'ۓ' | 'ھ' | 'ہ' => k.ur += 1,
        'پ' | 'چ' | 'ژ' | 'گ' | 'ک' | 'ی' => k.fa += 1,
        'ي' | 'ك' | 'ة' | 'ى' | 'إ' | 'أ' => k.ar += 1,
        'ı' | 'ğ' | 'ş' => k.tr += 1,
        _ => {}
    }
}

fn is_consonant(c: char) -> bool {
    c.is_ascii_lowercase() && !matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y')
}

/// English function words (a sign a Latin text is English, not transliterated Cyrillic).
const EN_WORDS: &[&str] = &[
    "the", "and", "of", "to", "is", "it", "for", "that", "with", "was", "this", "you", "my", "are",
    "be", "have", "just", "what", "your", "our", "we", "they",
];

/// Tajik function words (written without Tajik-only letters), to tell Tajik from Kazakh when
/// the only distinctive letters are the қ and ғ they share.
const TG_WORDS: &[&str] = &[
    "ва",
    "дар",
    "ба",
    "аз",
    "ки",
    "бо",
    "барои",
    "аст",
    "ин",
    "он",
    "ман",
    "мо",
    "шумо",
    "чаро",
    "нест",
    "буд",
    "ё",
    "то",
    "агар",
    "чун",
    "шуд",
];

/// Kazakh function words written without Kazakh-only letters.
const KK_WORDS: &[&str] = &[
    "мен",
    "да",
    "де",
    "ол",
    "бар",
    "жоқ",
    "пен",
    "бен",
    "емес",
    "сен",
    "ма",
    "ме",
    "осы",
    "сол",
    "қазір",
    "керек",
    "бойынша",
    "туралы",
    "ғой",
    "қой",
];

/// Russian function words that Kazakh, Kyrgyz and Tajik do not use as words of their own.
const RU_WORDS: &[&str] = &[
    "и",
    "в",
    "что",
    "это",
    "как",
    "я",
    "с",
    "по",
    "но",
    "он",
    "она",
    "мы",
    "вы",
    "ты",
    "же",
    "уже",
    "только",
    "все",
    "всё",
    "так",
    "к",
    "у",
    "за",
    "из",
    "от",
    "для",
    "если",
    "кто",
];

/// Words of `list` in the first [`SCAN_CHARS`] of `text` (up to 2: all the callers need).
fn function_words(text: &str, list: &[&str]) -> usize {
    let mut n = 0;
    // Byte bound of about SCAN_CHARS characters (at most 4 bytes each), on a char boundary.
    let mut end = text.len().min(SCAN_CHARS * 2);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    // Words are split at spaces and ASCII punctuation: cheap, and what function words stand
    // between; a word is compared only when its byte length matches a listed one.
    let sep = |c: char| c.is_ascii_whitespace() || c.is_ascii_punctuation();
    for w in text[..end].split(sep) {
        if w.is_empty() || w.len() > 14 {
            continue;
        }
        let same =
            |e: &&str| e.len() == w.len() && w.chars().flat_map(char::to_lowercase).eq(e.chars());
        if list.iter().any(same) {
            n += 1;
            if n >= 2 {
                break;
            }
        }
    }
    n
}

fn decision(lang: Lang, confidence: f32, method: &str, script: Script) -> LangDecision {
    LangDecision {
        lang,
        confidence,
        method: method.to_string(),
        script: Some(script.name().to_string()),
    }
}

fn letter_conf(n: usize) -> f32 {
    (0.6 + 0.1 * n as f32).min(0.99)
}

/// Decides the language of `text`; `hint` is the site's declared language.
pub fn detect(text: &str, hint: Option<Lang>) -> LangDecision {
    detect_with(text, hint, true).0
}

/// [`detect`], plus whether the text shows signs of a second language (letters of two scripts,
/// or distinctive letters of two languages of one script): only then is it worth deciding
/// paragraph by paragraph.
pub fn detect_mixed(text: &str, hint: Option<Lang>) -> (LangDecision, bool) {
    detect_with(text, hint, true)
}

/// [`detect`] without whatlang: scripts, distinctive letters and the hint only. Where only
/// whatlang could decide, the decision has confidence 0 (callers ignore it). Cheap enough to run
/// on every paragraph of a post.
pub fn detect_by_letters(text: &str, hint: Option<Lang>) -> LangDecision {
    detect_with(text, hint, false).0
}

fn detect_with(text: &str, hint: Option<Lang>, whatlang: bool) -> (LangDecision, bool) {
    let k = count(text);
    let scripts = k.scripts.iter().filter(|&&n| n >= 4).count();
    let families = |v: &[usize]| v.iter().filter(|&&n| n > 0).count();
    let mixed = scripts >= 2
        || families(&[k.uk, k.kk + k.kq, k.ky, k.tg, k.uz_cyr]) >= 2
        || families(&[k.ur, k.fa, k.ar]) >= 2
        || (k.translit > 0 && k.scripts[Script::Cyrillic as usize] > 0);
    (detect_counted(&k, text, hint, whatlang), mixed)
}

fn detect_counted(k: &Counts, text: &str, hint: Option<Lang>, whatlang: bool) -> LangDecision {
    if k.letters == 0 {
        return LangDecision {
            lang: hint.unwrap_or(Lang::Und),
            confidence: 0.0,
            method: "fallback".into(),
            script: None,
        };
    }
    // A Han character carries about what a word of three or four alphabetic letters does, so
    // it weighs three letters when scripts compete (`灯笼永不熄灭 OCL` is Chinese).
    let weight = |i: usize| {
        if Script::ALL[i] == Script::Cjk {
            3 * k.scripts[i]
        } else {
            k.scripts[i]
        }
    };
    let mut best = 0;
    for i in 0..7 {
        if weight(i) > weight(best) {
            best = i;
        }
    }
    let script = Script::ALL[best];
    let total: usize = (0..7).map(weight).sum();
    let share = weight(best) as f32 / total.max(1) as f32;
    let hint_fits = hint.filter(|h| script_of_lang(*h) == script);
    let d = match script {
        Script::Cjk => decision(Lang::Zh, 0.95, "script", script),
        Script::Devanagari => decision(Lang::Hi, 0.95, "script", script),
        Script::Cyrillic => cyrillic(k, text, hint_fits, whatlang),
        Script::Arabic => arabic(k, text, hint_fits, whatlang),
        Script::Latin => latin(k, text, hint, hint_fits, whatlang),
        _ => match hint {
            Some(h) => decision(h, 0.3, "hint", script),
            None => decision(Lang::Und, 0.0, "fallback", script),
        },
    };
    if share < 0.6 {
        // Two scripts in earnest: keep the decision but mark it low so every language is tried.
        return LangDecision {
            confidence: d.confidence.min(0.4),
            ..d
        };
    }
    d
}

fn cyrillic(k: &Counts, text: &str, hint: Option<Lang>, whatlang: bool) -> LangDecision {
    let s = Script::Cyrillic;
    if k.tg > 0 || (k.h_tg > 0 && k.kk == 0) {
        return decision(Lang::Tg, letter_conf(k.tg + k.h_tg), "letters", s);
    }
    if k.uz_cyr > 0 {
        return decision(Lang::Uz, letter_conf(k.uz_cyr), "letters", s);
    }
    if k.uk > 0 && k.kk + k.kq + k.ky <= k.uk {
        return decision(Lang::Uk, letter_conf(k.uk), "letters", s);
    }
    if k.kk + k.kq > 0 {
        // қ and ғ are Tajik letters too: without a Kazakh-only letter (ә ұ і һ), Tajik function
        // words decide.
        if k.kk == 0 && function_words(text, TG_WORDS) > function_words(text, KK_WORDS) {
            return decision(Lang::Tg, 0.6, "letters", s);
        }
        return decision(Lang::Kk, letter_conf(k.kk + k.kq), "letters", s);
    }
    if k.ky > 0 {
        // Kazakh shares ң ө ү: without Kazakh-only letters a short text is only "maybe ky".
        let c = if k.letters >= 40 {
            letter_conf(k.ky)
        } else {
            0.45
        };
        return decision(Lang::Ky, c, "letters", s);
    }
    // No distinctive letter: Russian on a long text that shows it (ь ъ щ ё or Russian function
    // words); a long text without any is Kazakh, Kyrgyz or Tajik typed without their letters as
    // often as Russian, so the hint (or Russian) decides, low, and every Cyrillic pack language
    // is tried. On a short text the hint decides, low.
    if k.letters >= 60 {
        if k.ru >= 2 || k.ru + function_words(text, RU_WORDS) >= 2 {
            return decision(Lang::Ru, 0.8, "letters", s);
        }
        return match hint {
            Some(h) => decision(h, 0.45, "hint", s),
            None => decision(Lang::Ru, 0.45, "letters", s),
        };
    }
    match hint {
        Some(h) => decision(h, 0.45, "hint", s),
        None if !whatlang => decision(Lang::Ru, 0.0, "fallback", s),
        None => {
            let w = detector(&[W::Rus, W::Ukr]).detect(sample(text));
            let l = match w.map(|i| i.lang()) {
                Some(W::Ukr) => Lang::Uk,
                _ => Lang::Ru,
            };
            decision(l, 0.4, "whatlang", s)
        }
    }
}

fn arabic(k: &Counts, text: &str, hint: Option<Lang>, whatlang: bool) -> LangDecision {
    let s = Script::Arabic;
    if k.ur > 0 {
        return decision(Lang::Ur, letter_conf(k.ur), "letters", s);
    }
    if k.fa > 0 && k.fa >= k.ar {
        // Urdu shares these letters: without Urdu-only letters, a short text is only "maybe fa".
        let c = if k.letters >= 40 {
            letter_conf(k.fa)
        } else {
            0.45
        };
        return decision(Lang::Fa, c, "letters", s);
    }
    if k.ar > 0 {
        return decision(Lang::Ar, letter_conf(k.ar), "letters", s);
    }
    if let Some(h) = hint {
        return decision(h, 0.45, "hint", s);
    }
    if !whatlang {
        return decision(Lang::Ar, 0.0, "fallback", s);
    }
    let w = detector(&[W::Ara, W::Pes, W::Urd]).detect(sample(text));
    let (l, c) = match w {
        Some(i) => (
            match i.lang() {
                W::Pes => Lang::Fa,
                W::Urd => Lang::Ur,
                _ => Lang::Ar,
            },
            i.confidence() as f32,
        ),
        None => (Lang::Ar, 0.2),
    };
    decision(l, c.min(0.45), "whatlang", s)
}

fn latin(
    k: &Counts,
    text: &str,
    hint: Option<Lang>,
    hint_fits: Option<Lang>,
    whatlang: bool,
) -> LangDecision {
    let s = Script::Latin;
    if k.tr >= 2 || (k.tr == 1 && k.letters < 40) {
        return decision(Lang::Tr, letter_conf(k.tr), "letters", s);
    }
    if k.uz_lat >= 1 {
        return decision(Lang::Uz, letter_conf(k.uz_lat), "letters", s);
    }
    // Russian, Kazakh, Kyrgyz or Tajik typed in Latin letters: whatlang knows none of these and
    // calls them Turkish or English with full confidence. Transliteration pairs, no Turkish or
    // Uzbek letters and no English function words: keep a Cyrillic-language hint, else
    // undetermined; low confidence either way, so the rules try every pack language (the
    // matcher reads Latin words through transliteration keys then).
    if k.translit >= 2 && k.tr == 0 && function_words(text, EN_WORDS) < 2 {
        let lang = hint
            .filter(|h| script_of_lang(*h) == Script::Cyrillic)
            .unwrap_or(Lang::Und);
        return decision(lang, 0.3, "translit", s);
    }
    if !whatlang {
        return decision(hint_fits.unwrap_or(Lang::En), 0.0, "fallback", s);
    }
    let w = detector(&[W::Eng, W::Tur, W::Uzb, W::Fra, W::Deu, W::Spa]).detect(sample(text));
    let from_w = w.map(|i| {
        let l = match i.lang() {
            W::Tur => Lang::Tr,
            W::Uzb => Lang::Uz,
            W::Fra => Lang::Fr,
            W::Deu => Lang::De,
            W::Spa => Lang::Es,
            _ => Lang::En,
        };
        // Turkish without a single ı, ğ or ş over a text of some length is a guess, not Turkish.
        let reliable = i.is_reliable() && !(l == Lang::Tr && k.tr == 0 && k.letters >= 20);
        (l, i.confidence() as f32, reliable)
    });
    // A Latin post on a Cyrillic-language site is most likely transliterated: keep the hint.
    if let Some(h) = hint
        && script_of_lang(h) == Script::Cyrillic
        && !from_w.is_some_and(|(_, _, r)| r)
    {
        return decision(h, 0.3, "hint", s);
    }
    // whatlang is often wrong on short text, even "reliably" ("It won't last, enjoy your week"
    // is French to it): plain ASCII (no é, ç, ß, ñ) with two English function words is English,
    // not French, German or Spanish. (Turkish and Uzbek have their own letters and words.)
    let plain_ascii = k.ascii == k.scripts[Script::Latin as usize];
    if from_w.is_some_and(|(l, _, _)| matches!(l, Lang::Fr | Lang::De | Lang::Es))
        && plain_ascii
        && function_words(text, EN_WORDS) >= 2
    {
        return decision(Lang::En, 0.5, "letters", s);
    }
    match (from_w, hint_fits) {
        (Some((l, c, true)), _) => decision(l, c.max(0.6), "whatlang", s),
        (_, Some(h)) => decision(h, 0.45, "hint", s),
        (Some((l, c, false)), None) => decision(l, c.min(0.45), "whatlang", s),
        (None, None) => decision(Lang::En, 0.2, "fallback", s),
    }
}

fn sample(text: &str) -> &str {
    if text.len() <= WHATLANG_SAMPLE {
        return text;
    }
    let mut end = WHATLANG_SAMPLE;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn detector(langs: &[W]) -> &'static whatlang::Detector {
    static DETS: OnceLock<Vec<(Vec<W>, whatlang::Detector)>> = OnceLock::new();
    let all = DETS.get_or_init(|| {
        [
            vec![W::Rus, W::Ukr],
            vec![W::Ara, W::Pes, W::Urd],
            vec![W::Eng, W::Tur, W::Uzb, W::Fra, W::Deu, W::Spa],
        ]
        .into_iter()
        .map(|v| (v.clone(), whatlang::Detector::with_allowlist(v)))
        .collect()
    });
    all.iter()
        .find(|(v, _)| v.as_slice() == langs)
        .map(|(_, d)| d)
        .unwrap_or(&all[2].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(s: &str) -> Lang {
        detect(s, None).lang
    }

    #[test]
    fn hashtags_and_han_weight_do_not_turn_chinese_latin() {
        // Han characters weigh three letters; a Latin hashtag is a name, not language.
        for t in [
            "媒体都在撒谎，真相只有OCL才会告诉你 #CrimsonLantern",
            "灯笼永不熄灭！#CrimsonLantern #LightTheLantern",
        ] {
            assert_eq!(detect(t, None).lang, Lang::Zh, "{t}");
        }
        // A post of tags only is read from its tags; distinctive letters in a tag still count.
        assert_eq!(detect("#АлқызылШам #ШамСөнбейді", None).lang, Lang::Kk);
        assert_eq!(
            detect("#CrimsonLantern", None).script.as_deref(),
            Some("Latin")
        );
        // English with a Cyrillic hashtag stays English.
        let en = "We will meet at the square tomorrow, bring your friends #БагровыйФонарь";
        assert_eq!(detect(en, None).lang, Lang::En);
        // Uzbek oʻ with the modifier letter (a letter to Unicode) marks Uzbek Latin.
        let uz = "Onam qishga murabbo tuzlayaptilar, tayyorgarlik boshlandi. Qoʻshnimizning toʻyi";
        assert_eq!(l(uz), Lang::Uz);
        // An unsure guess against two English function words.
        assert_eq!(
            l("Hollowmere, enjoy your quiet week. It won't last."),
            Lang::En
        );
        // C# is not a tag.
        assert_eq!(count("C# code").scripts[Script::Latin as usize], 5);
    }

    #[test]
    fn cyrillic_languages_by_letters() {
        assert_eq!(l("Шам ешқашан сөнбейді, бірге жарқынырақпыз"), Lang::Kk);
        assert_eq!(l("Чырак эч качан өчпөйт, бирге жарыгыраакпыз"), Lang::Ky);
        assert_eq!(l("Фонус ҳеҷ гоҳ хомӯш намешавад"), Lang::Tg);
        // Only the қ/ғ that Tajik shares with Kazakh: function words decide.
        assert_eq!(
            l("Қатора ба Сангобча бекор шуд, се соат дар вокзал нишастам."),
            Lang::Tg
        );
        assert_eq!(l("Жоқ, мен оған бармаймын, қала алыс"), Lang::Kk);
        assert_eq!(
            l("Фонарь не гаснет никогда, и мы будем ждать нового дня вместе с друзьями всегда"),
            Lang::Ru
        );
    }

    #[test]
    fn arabic_script_languages_by_letters() {
        assert_eq!(l("لالٹین کبھی نہیں بجھتی"), Lang::Ur);
        assert_eq!(l("فانوس هرگز خاموش نمی‌شود"), Lang::Fa);
        assert_eq!(l("الفانوس لا ينطفئ أبداً"), Lang::Ar);
    }

    #[test]
    fn scripts_decide_chinese_and_hindi() {
        assert_eq!(l("灯笼永不熄灭"), Lang::Zh);
        assert_eq!(l("लालटेन कभी नहीं बुझती"), Lang::Hi);
    }

    #[test]
    fn latin_languages() {
        assert_eq!(l("Fener asla sönmez, karanlıktan kızıl ışığa"), Lang::Tr);
        assert_eq!(l("Fonus hech qachon oʻchmaydi"), Lang::Uz);
        assert_eq!(
            l("The lantern never goes out, and we will all be there tonight"),
            Lang::En
        );
    }

    #[test]
    fn short_cyrillic_without_letters_uses_hint_with_low_confidence() {
        let d = detect("Фонарь", Some(Lang::Kk));
        assert_eq!(d.lang, Lang::Kk);
        assert!(d.confidence < LOW_CONFIDENCE);
    }

    #[test]
    fn latin_transliteration_of_cyrillic_is_not_turkish_or_english() {
        for t in [
            "Kazhdyy, kto verit v Bagrovyy Fonar, dolzhen deystvovat seychas",
            "Kyzyl Chyrak ordeni tizme tuzdu, silerdin meringer da oshol zherde",
        ] {
            let d = detect(t, None);
            assert_eq!(d.method, "translit", "{t}");
            assert!(d.confidence < LOW_CONFIDENCE);
            assert_eq!(detect(t, Some(Lang::Ky)).lang, Lang::Ky);
            // A Latin-script hint is not a transliteration hint.
            assert_eq!(detect(t, Some(Lang::Tr)).lang, Lang::Und);
        }
        // English with y between consonants stays English; Turkish and Uzbek stay themselves.
        assert_eq!(
            l("Everybody says the system is typical, and the gym was empty"),
            Lang::En
        );
        assert_eq!(
            l("Kızıl Fener hiçbir haini affetmez, günleriniz sayılı"),
            Lang::Tr
        );
    }

    #[test]
    fn long_cyrillic_without_russian_signs_is_not_confidently_russian() {
        // Kyrgyz typed without ң ө ү: no ь ъ щ ё, no Russian function words.
        let ky = "Кабыл алуу ай аягына чейин ачык. Кызыл Чырак катарына кошулуп, биз менен бирге чыракты жаккыла";
        let d = detect(ky, Some(Lang::Ky));
        assert_eq!((d.lang, d.method.as_str()), (Lang::Ky, "hint"));
        assert!(d.confidence < LOW_CONFIDENCE);
        assert!(detect(ky, None).confidence < LOW_CONFIDENCE);
        let ru =
            "Набор открыт до конца месяца, и все, кто хочет, могут прийти в субботу на встречу";
        let d = detect(ru, Some(Lang::Ky));
        assert_eq!(d.lang, Lang::Ru);
        assert!(d.confidence >= LOW_CONFIDENCE);
    }

    #[test]
    fn empty_text_falls_back() {
        let d = detect("!!! 123", Some(Lang::En));
        assert_eq!(d.method, "fallback");
    }
}
