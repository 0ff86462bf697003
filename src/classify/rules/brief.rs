//! A rule pack for a new exercise organisation, from the scenario's brief.
//!
//! The shipped pack (`rules/default/`) is split so that only one file knows *who* the target
//! is: `organisation.toml` holds the lexicons `org`, `leader`, `hashtag`, `slogan` and the
//! `lookalike` exception; the cue words, exception words and rules are about *what* a post does
//! and hold for any organisation. An exercise brief names the fictional organisation (the
//! scenario's `[[organisations]]`: names per language, short names, leaders, slogans,
//! hashtags, and the harmless look-alike). [`brief_sources`] turns that brief into a complete
//! pack: a generated `organisation.toml` plus the embedded cue, exception and rule files.
//!
//! What it reads: only the organisations of the scenario (what exercise staff hand to the
//! teams), never its rates, sites or ground truth. What it may not do: invent terms. Besides
//! the brief's own strings it adds one derived form: a leader's family name (the last word of
//! a name of two or more words) as a term of its own, the way the shipped pack lists "Tolgun".
//!
//! The inline `match`/`no_match` examples of the shipped rules name the default organisation,
//! so the generated rules file leaves them out (removed by their TOML spans; everything else,
//! comments included, stays byte for byte).

use std::collections::BTreeMap;

use super::pack::Source;
use crate::classify::text::script::{Script, script_of};
use crate::corpus::scenario::{Leaders, Organisation, PerLang, Role, Scenario};

/// The file names of a generated pack, in load order.
pub const FILES: [&str; 4] = [
    "organisation.toml",
    "exceptions.toml",
    "cues.toml",
    "rules.toml",
];

/// The four files of a pack for `scenario`'s organisations: `(file name, text)`, in [`FILES`]
/// order.
pub fn brief_files(scenario: &Scenario) -> Vec<(&'static str, String)> {
    let embedded = |suffix: &str| {
        super::DEFAULT_PACKS
            .iter()
            .find(|(n, _)| n.ends_with(suffix))
            .map(|(_, t)| *t)
            .unwrap_or_default()
    };
    vec![
        (FILES[0], organisation_toml(scenario)),
        (FILES[1], embedded("/exceptions.toml").to_string()),
        (FILES[2], embedded("/cues.toml").to_string()),
        (FILES[3], without_examples(embedded("/rules.toml"))),
    ]
}

/// Writes `files` (from [`brief_files`]) into `dir`, creating it.
pub fn write_pack(files: &[(&str, String)], dir: &std::path::Path) -> crate::Result<()> {
    let io = |path: std::path::PathBuf| {
        move |source| crate::classify::ClassifyError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir.to_path_buf()))?;
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(io(p.clone()))?;
    }
    Ok(())
}

/// [`brief_files`] as pack sources named `<brief>/FILE`.
pub fn brief_sources(scenario: &Scenario) -> Vec<Source> {
    brief_files(scenario)
        .into_iter()
        .map(|(n, t)| Source::new(format!("<brief>/{n}"), t))
        .collect()
}

/// Terms of one lexicon: `any` and per language, deduplicated, in first-seen order.
#[derive(Default)]
struct Terms(BTreeMap<String, Vec<String>>);

impl Terms {
    fn add(&mut self, lang: &str, term: &str) {
        if let Some(term) = clean(term) {
            self.add_raw(lang, term);
        }
    }

    /// Adds a term already in pack syntax.
    fn add_raw(&mut self, lang: &str, term: String) {
        let list = self.0.entry(lang.to_string()).or_default();
        if !list.contains(&term) {
            list.push(term);
        }
    }

    fn add_per_lang(&mut self, m: &PerLang) {
        for (lang, list) in m {
            for t in &list.0 {
                self.add(lang, t);
            }
        }
    }

    fn add_short(&mut self, short: &[String]) {
        for s in short {
            self.add("any", s);
            // Acronyms also as an exact lower-case token, so a short name that happens to
            // stem like a word still matches only itself.
            if let Some(lower) = clean(s).map(|c| c.to_lowercase())
                && lower.chars().count() <= 5
                && !lower.contains(char::is_whitespace)
            {
                self.add_raw("any", format!("={lower}"));
            }
        }
    }

    fn add_leaders(&mut self, leaders: &Leaders) {
        let mut add = |lang: &str, name: &str| {
            self.add(lang, name);
            if let Some(family) = family_name(name) {
                self.add(lang, family);
            }
        };
        match leaders {
            Leaders::List(v) => v.iter().for_each(|n| add("any", n)),
            Leaders::PerLang(m) => {
                for (lang, list) in m {
                    list.0.iter().for_each(|n| add(lang, n));
                }
            }
        }
    }

    fn write(&self, out: &mut String, name: &str, description: &str, exception: bool) {
        out.push_str(&format!("\n[lexicons.{name}]\n"));
        out.push_str(&format!("description = {}\n", quote(description)));
        if exception {
            out.push_str("exception = true\n");
        }
        // `any` first, then the languages in code order.
        let mut keys: Vec<&String> = self.0.keys().collect();
        keys.sort_by_key(|k| (k.as_str() != "any", k.as_str()));
        for k in keys {
            let list: Vec<String> = self.0[k].iter().map(|t| quote(t)).collect();
            out.push_str(&format!("{k} = [{}]\n", list.join(", ")));
        }
        if self.0.is_empty() {
            out.push_str("any = []\n");
        }
    }
}

/// A brief string as a plain term: trimmed, with the characters that the pack syntax gives a
/// meaning to (`=exact`, `prefix*`, `/regex/`) taken off its ends. `None` when nothing is left.
fn clean(term: &str) -> Option<String> {
    let t = term
        .trim()
        .trim_start_matches(['=', '/'])
        .trim_end_matches(['*', '/'])
        .trim();
    (!t.is_empty() && t != "#").then(|| t.to_string())
}

/// The last word of a name of two or more words (`Varek Tolgun` -> `Tolgun`, `瓦雷克·托尔衮` ->
/// `托尔衮`), when it is long enough to name someone (3+ letters, or 2+ Han characters).
fn family_name(name: &str) -> Option<&str> {
    let name = name.trim();
    let cut = name.rfind(|c: char| c.is_whitespace() || matches!(c, '·' | '・' | '‧' | '-'))?;
    let last = name[cut..]
        .trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '·' | '・' | '‧' | '-'));
    let han = last.chars().all(|c| script_of(c) == Script::Cjk);
    let n = last.chars().count();
    (n >= 3 || (han && n >= 2)).then_some(last)
}

/// `s` as a TOML string, escaped by the toml crate's encoder.
fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The generated `organisation.toml` for `scenario`.
pub fn organisation_toml(scenario: &Scenario) -> String {
    let file = &scenario.file;
    let (mut org, mut leader, mut hashtag, mut slogan, mut lookalike) = (
        Terms::default(),
        Terms::default(),
        Terms::default(),
        Terms::default(),
        Terms::default(),
    );
    let targets: Vec<&Organisation> = file
        .organisations
        .iter()
        .filter(|o| o.role == Role::Target)
        .collect();
    for o in &targets {
        org.add("en", &o.canonical);
        org.add_per_lang(&o.names);
        org.add_short(&o.short);
        leader.add_leaders(&o.leaders);
        hashtag.add_per_lang(&o.hashtags);
        slogan.add_per_lang(&o.slogans);
    }
    let lookalikes: Vec<&Organisation> = file
        .organisations
        .iter()
        .filter(|o| o.role == Role::Lookalike)
        .collect();
    for o in &lookalikes {
        lookalike.add("en", &o.canonical);
        lookalike.add_per_lang(&o.names);
        lookalike.add_short(&o.short);
        lookalike.add_leaders(&o.leaders);
        lookalike.add_per_lang(&o.hashtags);
        lookalike.add_per_lang(&o.slogans);
    }

    let mut langs: Vec<&str> = scenario
        .sites
        .iter()
        .flat_map(|s| s.langs.iter().map(|(l, _)| l.code()))
        .collect();
    langs.sort_unstable();
    langs.dedup();
    let names = |v: &[&Organisation]| {
        v.iter()
            .map(|o| o.canonical.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = String::new();
    out.push_str(&format!(
        "# Generated by `trawl rules brief` from the organisations of the scenario {:?}.\n\
         # Who the target is; cues.toml, exceptions.toml and rules.toml say what a post does.\n\
         # Terms are the brief's own strings (plus each leader's family name); normalisation\n\
         # and stemming take care of case, inflection and obfuscation. Edit freely.\n\n",
        file.name
    ));
    out.push_str("[pack]\n");
    out.push_str(&format!(
        "name = {}\n",
        quote(&format!("brief-{}", slug(&file.name)))
    ));
    out.push_str(&format!(
        "description = {}\n",
        quote(&format!(
            "Target: {}; look-alike: {}",
            names(&targets),
            names(&lookalikes)
        ))
    ));
    out.push_str("threshold = 0.5\n");
    let quoted: Vec<String> = langs.iter().map(|l| quote(l)).collect();
    out.push_str(&format!("languages = [{}]\n", quoted.join(", ")));
    org.write(
        &mut out,
        "org",
        "Names of the target organisation, full and short",
        false,
    );
    leader.write(
        &mut out,
        "leader",
        "The organisation's leaders, and their family names",
        false,
    );
    hashtag.write(&mut out, "hashtag", "The organisation's hashtags", false);
    slogan.write(&mut out, "slogan", "The organisation's slogans", false);
    lookalike.write(
        &mut out,
        "lookalike",
        "The harmless look-alike organisation(s): names, leaders, slogans, hashtags",
        true,
    );
    out
}

fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if s.is_empty() { "scenario".into() } else { s }
}

/// `rules` without the `match = [...]` and `no_match = [...]` entries of its `[[rules]]`
/// (found by their TOML spans; lines that only held them are dropped). Text that does not
/// parse is returned unchanged (the pack check reports it).
pub fn without_examples(rules: &str) -> String {
    use toml::de::{DeTable, DeValue};
    let Ok(doc) = DeTable::parse(rules) else {
        return rules.to_string();
    };
    let mut cuts: Vec<(usize, usize)> = Vec::new();
    for (key, value) in doc.get_ref().iter() {
        if key.get_ref() != "rules" {
            continue;
        }
        let DeValue::Array(list) = value.get_ref() else {
            continue;
        };
        for rule in list.iter() {
            let DeValue::Table(t) = rule.get_ref() else {
                continue;
            };
            for (k, v) in t.iter() {
                if matches!(k.get_ref().as_ref(), "match" | "no_match") {
                    let start = rules[..k.span().start].rfind('\n').map_or(0, |i| i + 1);
                    let end = rules[v.span().end..]
                        .find('\n')
                        .map_or(rules.len(), |i| v.span().end + i + 1);
                    cuts.push((start, end));
                }
            }
        }
    }
    cuts.sort_unstable();
    let mut out = String::with_capacity(rules.len());
    let mut at = 0;
    for (s, e) in cuts {
        if s >= at {
            out.push_str(&rules[at..s]);
            at = e;
        }
    }
    out.push_str(&rules[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Classifier;
    use crate::model::{Lang, Post};

    fn post(text: &str, lang: Lang) -> Post {
        Post::from_text(text, Some(lang))
    }

    #[test]
    fn the_default_scenario_gives_a_pack_that_compiles_and_flags() {
        let s = Scenario::default_scenario().unwrap();
        let c = Classifier::from_sources(&brief_sources(&s)).expect("generated pack compiles");
        let mut scratch = c.new_scratch();
        let v = c.classify(
            &post(
                "Join the Order of the Crimson Lantern, brothers, we are recruiting.",
                Lang::En,
            ),
            &mut scratch,
        );
        assert!(v.flagged, "{v:?}");
        let v = c.classify(
            &post(
                "Police said the Order of the Crimson Lantern recruits online.",
                Lang::En,
            ),
            &mut scratch,
        );
        assert!(!v.flagged, "a news report: {v:?}");
    }

    #[test]
    fn another_organisation_is_found_by_its_own_names_only() {
        let text = crate::corpus::embedded::DEFAULT_SCENARIO
            .replace(
                "Order of the Crimson Lantern",
                "Brotherhood of the Ashen Crown",
            )
            .replace(
                "\"Crimson Lantern\", \"Lantern\"",
                "\"Ashen Crown\", \"Crown\"",
            )
            .replace("\"OCL\"", "\"BAC\"")
            .replace("Varek Tolgun", "Oren Maskal");
        let s = Scenario::from_parts(&text, std::path::Path::new("alt.toml"), None).unwrap();
        let org = organisation_toml(&s);
        assert!(org.contains("\"Brotherhood of the Ashen Crown\""), "{org}");
        assert!(
            org.contains("\"=bac\"") && org.contains("\"Maskal\""),
            "{org}"
        );
        let c = Classifier::from_sources(&brief_sources(&s)).unwrap();
        let mut scratch = c.new_scratch();
        let join = |org: &str| format!("Join the {org} today, brothers, we are recruiting.");
        assert!(
            c.classify(&post(&join("Ashen Crown"), Lang::En), &mut scratch)
                .flagged
        );
        assert!(
            !c.classify(&post(&join("Harbour Choir"), Lang::En), &mut scratch)
                .flagged
        );
    }

    #[test]
    fn examples_are_cut_and_everything_else_kept() {
        let rules = "# head\n[[rules]]\nid = \"a\"\nmatch = [\n  \"x\",\n  \"y\",\n]\n\
                     no_match = [\"z\"]\nwhy = \"w\"\n\n[[rules]]\nid = \"b\" # keep\n";
        let out = without_examples(rules);
        assert_eq!(
            out,
            "# head\n[[rules]]\nid = \"a\"\nwhy = \"w\"\n\n[[rules]]\nid = \"b\" # keep\n"
        );
        let shipped = super::super::DEFAULT_PACKS[3].1;
        let cut = without_examples(shipped);
        assert!(!cut.contains("\nmatch = ") && !cut.contains("\nno_match = "));
        assert!(cut.contains("when = "));
    }

    #[test]
    fn terms_are_cleaned_and_family_names_derived() {
        assert_eq!(clean(" =x* "), Some("x".into()));
        assert_eq!(clean("/re/"), Some("re".into()));
        assert_eq!(clean("#"), None);
        assert_eq!(family_name("Varek Tolgun"), Some("Tolgun"));
        assert_eq!(family_name("瓦雷克·托尔衮"), Some("托尔衮"));
        assert_eq!(family_name("Madonna"), None);
        assert_eq!(family_name("Li Bo"), None);
        for hostile in ["a\"b\\c\n", "it's", "x\u{7}y", "'''"] {
            let line = format!("k = [{}]", quote(hostile));
            let back: toml::Table = toml::from_str(&line).expect(&line);
            assert_eq!(back["k"][0].as_str(), Some(hostile), "{line}");
        }
    }
}
