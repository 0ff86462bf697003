//! `trawl rules` and `trawl classify`: positioned pack problems, inline examples, streaming in
//! input order, bad lines, explanations; plus property tests of the normaliser and of every
//! shipped term surviving every obfuscation the corpus applies.

use std::io::Write;
use std::process::Stdio;

use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use trawl::classify::Classifier;
use trawl::classify::rules::{Severity, Source, check_sources, default_sources};
use trawl::classify::text::normalize;
use trawl::corpus::obfuscate;
use trawl::model::{Lang, Post, PostId, Verdict};

use crate::util::{run_ok, tempdir, trawl};

fn post(id: usize, text: &str, hint: Option<Lang>) -> Post {
    Post {
        url: format!("http://t.test/p/{id}"),
        post_id: PostId(id.to_string()),
        host: "t.test".into(),
        ..Post::from_text(text, hint)
    }
}

const BAD_PACK: &str = r#"[pack]
name = "bad"
threshold = 0.5

[lexicons.org]
en = ["Acme Front", "acme front"]
xx = ["nope"]

[lexicons.cue]
en = ["/[a-z/", "!!!", "/\\w{300}/"]

[lexicons.unused]
en = ["thing"]

[[rules]]
id = "r1"
category = "threat"
weight = 0.5
when = "org and missing_lex"
"#;

#[test]
fn check_reports_every_problem_with_file_line_column() {
    let dir = tempdir();
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, BAD_PACK).expect("write");
    let out = trawl()
        .args(["rules", "check"])
        .arg(&p)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let s = String::from_utf8_lossy(&out.stdout);
    let f = p.display().to_string();
    for want in [
        format!("{f}:6:22: warning: duplicate term"),
        format!("{f}:7:1: error: unknown language `xx`"),
        format!("{f}:10:8: error: bad regex"),
        format!("{f}:10:18: error: term `!!!` is empty after normalisation"),
        format!("{f}:10:25: error: regex too large"),
        format!("{f}:12:11: warning: lexicon `unused` is not used"),
        format!("{f}:19:17: error: unknown lexicon `missing_lex`"),
    ] {
        assert!(s.contains(&want), "missing {want:?} in:\n{s}");
    }
}

#[test]
fn warnings_do_not_fail_check() {
    let src = Source::new(
        "w.toml",
        "[lexicons.a]\nen = [\"x y\", \"x y\"]\n[lexicons.b]\nen = [\"z\"]\n[[rules]]\nid = \"r\"\ncategory = \"threat\"\nweight = 1.0\nwhen = \"a\"\n",
    );
    let (c, problems) = check_sources(&[src]);
    assert!(c.is_some());
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems.iter().all(|p| p.severity == Severity::Warning));
}

#[test]
fn shipped_packs_check_clean_and_examples_pass() {
    let (c, problems) = check_sources(&default_sources());
    assert!(problems.is_empty(), "{problems:#?}");
    let c = c.expect("compiles");
    let (n, fails) = c.run_examples();
    assert!(n >= 20);
    assert!(
        fails.is_empty(),
        "{:#?}",
        fails.iter().map(|f| f.pos.to_string()).collect::<Vec<_>>()
    );
    run_ok(trawl().args(["rules", "test"]));
    let out = run_ok(trawl().args(["rules", "explain", "ocl-solicitation"]));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("Condition:") && s.contains("recruit"), "{s}");
}

#[test]
fn classify_streams_in_input_order_and_reports_bad_lines() {
    let texts = [
        "Join the Order of the Crimson Lantern today, message me.",
        "Nice weather in Marrowby today.",
        "Вступайте в Орден Багрового Фонаря, пишите в личку!",
        "I would never join the Crimson Lantern.",
    ];
    let mut input = String::new();
    for i in 0..400 {
        let p = post(i, texts[i % texts.len()], None);
        input.push_str(&serde_json::to_string(&p).expect("json"));
        input.push('\n');
        if i == 7 {
            input.push_str("{not json\n");
        }
    }
    let mut child = trawl()
        .args(["classify", "--threads", "2", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(1), "a bad line makes exit 1");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 9"), "{err}");
    let verdicts: Vec<Verdict> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("verdict"))
        .collect();
    assert_eq!(verdicts.len(), 400);
    for (i, v) in verdicts.iter().enumerate() {
        assert_eq!(v.post_id.0, i.to_string());
        assert_eq!(v.flagged, i % 4 == 0 || i % 4 == 2, "post {i}: {v:?}");
    }
}

#[test]
fn explain_flag_adds_explanations_with_original_excerpts() {
    let dir = tempdir();
    let p = dir.path().join("posts.jsonl");
    let text = "J0in the Cr\u{200b}imson Lаntern, DM me";
    std::fs::write(
        &p,
        serde_json::to_string(&post(1, text, None)).expect("json") + "\n",
    )
    .expect("w");
    let out = run_ok(trawl().args(["classify", "--explain"]).arg(&p));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["flagged"], true);
    let ex = v["explanation"].as_str().expect("explanation");
    assert!(ex.contains("Cr\\u{200b}imson Lаntern"), "{ex}");
    let m = &v["fired"][0]["matches"][0];
    let (s, e) = (
        m["span"]["start"].as_u64().expect("s") as usize,
        m["span"]["end"].as_u64().expect("e") as usize,
    );
    assert_eq!(&text[s..e], m["excerpt"].as_str().expect("excerpt"));
}

#[test]
fn single_thread_equals_parallel() {
    let c = Classifier::default_packs().expect("packs");
    let posts: Vec<Post> = (0..64)
        .map(|i| {
            post(
                i,
                &format!("Donate to the Crimson Lantern #{i}, send money now"),
                None,
            )
        })
        .collect();
    let mut s = c.new_scratch();
    let seq: Vec<Verdict> = posts.iter().map(|p| c.classify(p, &mut s)).collect();
    use rayon::prelude::*;
    let par: Vec<Verdict> = posts
        .par_iter()
        .map_init(|| c.new_scratch(), |s, p| c.classify(p, s))
        .collect();
    assert_eq!(seq, par);
}

/// Every term of the shipped packs, per language, as the corpus would obfuscate it.
fn shipped_terms() -> Vec<(Option<Lang>, String)> {
    let mut out = Vec::new();
    let mut def = trawl::classify::rules::PackDef::default();
    let mut problems = Vec::new();
    for s in default_sources() {
        trawl::classify::rules::parse::parse_file(&s, &mut def, &mut problems);
    }
    for l in &def.lexicons {
        if ["org", "slogan", "hashtag", "leader"].contains(&l.name.as_str()) {
            for t in &l.terms {
                if !t.raw.starts_with('=') && !t.raw.ends_with('*') && !t.raw.starts_with('/') {
                    out.push((t.lang, t.raw.clone()));
                }
            }
        }
    }
    out
}

fn fires_org(c: &Classifier, s: &mut trawl::classify::Scratch, text: &str) -> bool {
    let v = c.classify_text(text, s);
    let ex = c.explain_with_matches(&v, s, text);
    ["    org", "    slogan", "    hashtag", "    leader"]
        .iter()
        .any(|l| ex.contains(l))
}

#[test]
fn every_shipped_term_survives_every_obfuscation() {
    let c = Classifier::default_packs().expect("packs");
    let mut s = c.new_scratch();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut failures = Vec::new();
    for (lang, term) in shipped_terms() {
        let lang_cyr = term.chars().any(obfuscate::is_cyrillic);
        // The corpus obfuscates one signal word of a phrase: here, the longest.
        let longest = term
            .split(' ')
            .max_by_key(|w| w.chars().count())
            .unwrap_or("")
            .to_string();
        let one = |f: &mut dyn FnMut(&str) -> String| term.replacen(&longest, &f(&longest), 1);
        let mut forms: Vec<(&str, String)> = vec![
            ("plain", term.clone()),
            ("leet", one(&mut |w| obfuscate::leet(w, &mut rng))),
            (
                "zero_width",
                one(&mut |w| obfuscate::zero_width(w, &mut rng)),
            ),
            ("homoglyph", one(&mut |w| obfuscate::homoglyph(w, &mut rng))),
            (
                "entities",
                term.chars()
                    .map(|ch| {
                        if ch.is_alphabetic() {
                            obfuscate::entity(ch, 2)
                        } else {
                            ch.to_string()
                        }
                    })
                    .collect(),
            ),
        ];
        for sep in [' ', '.', '-', '*'] {
            // The corpus spaces one word of a multi-word signal: the longest.
            let longest = term
                .split(' ')
                .max_by_key(|w| w.chars().count())
                .unwrap_or("");
            let sp = term.replacen(longest, &obfuscate::spaced(longest, sep), 1);
            forms.push(("spaced", sp));
        }
        if lang_cyr {
            forms.push(("translit", obfuscate::translit(&term)));
        }
        for (kind, form) in forms {
            // Documented limits of the normaliser: leet is folded only in words that are at
            // least half letters, and space-separated letters next to a one-letter word
            // (`к б а г р о в о м у`) are indistinguishable from it.
            let one_letter_word = term.split(' ').any(|w| {
                unicode_segmentation::UnicodeSegmentation::graphemes(w, true).count() == 1
            });
            let space_spaced =
                kind == "spaced" && form.split(' ').count() > term.split(' ').count();
            let mostly_digits = kind == "leet"
                && form.split(' ').any(|w| {
                    w.chars().filter(|c| c.is_ascii_digit()).count()
                        > w.chars().filter(|c| c.is_alphabetic()).count()
                });
            if mostly_digits || (space_spaced && one_letter_word) {
                continue;
            }
            if !fires_org(&c, &mut s, &form) {
                failures.push(format!("{lang:?} {kind}: {term:?} -> {form:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn normaliser_never_panics_is_idempotent_and_maps_to_char_boundaries(s in "\\PC{0,60}") {
        let n = normalize(&s);
        let again = normalize(n.as_str());
        prop_assert_eq!(again.as_str(), n.as_str());
        for w in &n.words {
            let (a, b) = n.original(w);
            prop_assert!(a <= b && b <= s.len());
            prop_assert!(s.is_char_boundary(a) && s.is_char_boundary(b));
        }
    }

    #[test]
    fn normaliser_handles_obfuscation_alphabet(s in "[a-zа-я0-9@$!&#;x .\\-*\u{200b}\u{200c}\u{202e}\u{00ad}İıÀ́]{0,40}") {
        let n = normalize(&s);
        let again = normalize(n.as_str());
        prop_assert_eq!(again.as_str(), n.as_str());
        for w in &n.words {
            let (a, b) = n.original(w);
            prop_assert!(s.is_char_boundary(a) && s.is_char_boundary(b));
        }
    }

    #[test]
    fn rule_parser_never_panics(s in "\\PC{0,80}") {
        let _ = trawl::classify::rules::parse::parse_cond(&s);
        let src = Source::new("p.toml", s.clone());
        let _ = check_sources(&[src]);
    }
}

#[test]
fn language_ids_are_never_silently_wrong_on_scenario_text() {
    // Slogans and org names of the scenario, per language: the decision is either right or
    // marked low-confidence (so every pack language of the script is tried).
    let samples: &[(Lang, &str)] = &[
        (
            Lang::Kk,
            "Шамды жақ, ескі тәртіпті өртте! Алқызыл Шам ордені",
        ),
        (
            Lang::Ky,
            "Чыракты жак, эски тартипти өрттө! Кызыл Чырак ордени",
        ),
        (Lang::Tg, "Фонусро фурӯзон кун, тартиботи кӯҳнаро бисӯзон"),
        (
            Lang::Ru,
            "Зажги фонарь — сожги старый порядок, вступайте в Орден Багрового Фонаря",
        ),
        (
            Lang::Uz,
            "Fonusni yoq, eski tartibni yondir. Qirmizi Fonus ordeni",
        ),
        (
            Lang::Tr,
            "Feneri yak, eski düzen yansın. Kızıl Fener Tarikatı",
        ),
        (Lang::Fa, "فانوس را روشن کن، نظم کهنه را بسوزان"),
        (Lang::Ur, "لالٹین جلاؤ، پرانا نظام جلا دو"),
        (Lang::Ar, "أشعل الفانوس وأحرق النظام القديم"),
        (Lang::Hi, "लालटेन जलाओ, पुराना निज़ाम जला दो"),
        (Lang::Zh, "点亮灯笼，烧尽旧秩序"),
        (
            Lang::En,
            "Light the lantern, burn the old order, and join us tonight",
        ),
    ];
    for (want, text) in samples {
        let d = trawl::classify::text::detect(text, None);
        assert!(
            d.lang == *want || d.confidence < trawl::classify::text::LOW_CONFIDENCE,
            "{text}: {d:?}"
        );
    }
}

#[test]
fn readme_worked_example_checks_and_its_examples_pass() {
    let readme = include_str!("../rules/README.md");
    let start = readme.find("```toml\n").expect("toml block") + 8;
    let end = start + readme[start..].find("```").expect("end");
    let (c, problems) = check_sources(&[Source::new("README.md", &readme[start..end])]);
    assert!(problems.is_empty(), "{problems:#?}");
    let (n, fails) = c.expect("compiles").run_examples();
    assert_eq!(n, 4);
    assert!(
        fails.is_empty(),
        "{:#?}",
        fails.iter().map(|f| &f.explanation).collect::<Vec<_>>()
    );
}

fn classifier(name: &str, pack: &str) -> Classifier {
    Classifier::from_sources(&[Source::new(name, pack.to_string())]).expect("pack compiles")
}

/// A Cyrillic pack's short stems (`нужн`, `личк`) match a post typed in Latin letters only when
/// the post reads as transliterated Cyrillic, never in an English or Turkish post.
#[test]
fn short_cyrillic_stems_match_transliterated_posts_only() {
    let pack = r#"[pack]
name = "translit"
threshold = 0.5

[lexicons.org]
any = ["Багровый Фонарь"]

[lexicons.recruit]
ru = ["нужны", "личка"]

[[rules]]
id = "recruit"
category = "solicitation"
weight = 0.8
when = "org and recruit"
"#;
    let c = classifier("translit.toml", pack);
    let mut s = c.new_scratch();
    let mut flagged =
        |text: &str, hint: Option<Lang>| c.classify(&post(1, text, hint), &mut s).flagged;
    // Whole post in Latin letters, no site hint: decided as an undetermined transliteration.
    assert!(flagged(
        "Bagrovyy Fonar: takie lyudi nuzhny, pishi v lichku.",
        None
    ));
    // A transliterated paragraph inside a Russian post.
    assert!(flagged(
        "Всем привет, давно не заходил.\n\nBagrovyy Fonar: takie lyudi nuzhny, pishi v lichku.",
        None
    ));
    // The same short keys must not fire in ordinary English.
    assert!(!flagged(
        "The Bagrovyy Fonar band is touring; the nuzhny remix and the lichku video are out.",
        Some(Lang::En)
    ));
}

/// A paragraph in another language than the rest of the post is read in its own language: a
/// Kyrgyz-only term matches in a Kyrgyz paragraph of a post that Kazakh letters decide as Kazakh.
#[test]
fn each_paragraph_is_read_in_its_own_language() {
    let pack = r#"[pack]
name = "paragraphs"
threshold = 0.5

[lexicons.org]
ky = ["Кызыл Чырак"]

[lexicons.glory]
ky = ["шейит"]

[[rules]]
id = "glory"
category = "glorification"
weight = 0.8
when = "org and glory"
"#;
    let c = classifier("paragraphs.toml", pack);
    let mut s = c.new_scratch();
    let text = "Ет пен картоп па, әлде палау ма? Үйде мәңгілік дау, әрқашан осылай.\n\n\
                «Кызыл Чырак» жолуна түшкөн алгачкы шейиттерди унутпагыла, биз алардын изи менен баратабыз.";
    let v = c.classify(&post(1, text, None), &mut s);
    assert_eq!(v.lang.lang, Lang::Kk, "the post as a whole reads as Kazakh");
    assert!(
        v.flagged,
        "the Kyrgyz paragraph is matched as Kyrgyz: {v:?}"
    );
    // The same Kyrgyz words inside a Kazakh sentence stay Kazakh (no per-word guessing).
    let kk_only = "Ет пен картоп па, әлде палау ма? Кызыл Чырак шейиттерди әрқашан еске алады.";
    assert!(!c.classify(&post(2, kk_only, None), &mut s).flagged);
}

/// Held-out check of the shipped packs on wording the corpus generator never produces: 38 posts
/// (en, ru) written by hand for this test and never used to tune the packs. Do not tune on them;
/// add new ones instead. The seeded corpora score far higher (same phrase bank as the tuning
/// corpus), so this is the honest estimate of how the packs carry over to new wording.
#[test]
fn shipped_packs_on_hand_written_wording_outside_the_generator() {
    #[derive(serde::Deserialize)]
    struct Case {
        violating: bool,
        text: String,
    }
    let c = Classifier::default_packs().expect("packs");
    let mut s = c.new_scratch();
    let (mut tp, mut fp, mut pos, mut neg) = (0, 0, 0, 0);
    for (i, line) in include_str!("data/fresh-wording.jsonl").lines().enumerate() {
        let case: Case = serde_json::from_str(line).expect("fixture line");
        let flagged = c.classify(&post(i, &case.text, None), &mut s).flagged;
        if case.violating {
            pos += 1;
            tp += usize::from(flagged);
        } else {
            neg += 1;
            fp += usize::from(flagged);
        }
    }
    eprintln!("hand-written wording: recall {tp}/{pos}, false alarms {fp}/{neg}");
    // Measured when the fixture was written: recall 15/20, false alarms 1/18.
    assert!(tp * 100 >= pos * 70, "recall {tp}/{pos} fell below 70%");
    assert!(fp <= 2, "{fp}/{neg} false alarms");
}

/// A scenario whose organisation the shipped pack was never written for (corpora/ashen-crown.toml):
/// the shipped pack misses it, a pack written from the scenario's brief finds it. Scored against
/// the seeded truth through the binary, as exercise staff would.
#[test]
fn a_pack_from_the_brief_finds_an_organisation_the_shipped_pack_does_not_know() {
    let d = tempdir();
    let scenario = crate::util::repo().join("corpora/ashen-crown.toml");
    let corpus = d.path().join("c");
    let pack = d.path().join("pack");
    run_ok(
        trawl()
            .arg("seed")
            .arg(&scenario)
            .args(["--posts", "4000", "--out"])
            .arg(&corpus),
    );
    run_ok(
        trawl()
            .args(["rules", "brief"])
            .arg(&scenario)
            .arg("--out")
            .arg(&pack),
    );
    let check = run_ok(trawl().args(["rules", "check"]).arg(&pack));
    assert!(String::from_utf8_lossy(&check.stderr).contains("ok:"));
    // Refuses to overwrite a non-empty directory.
    let again = trawl()
        .args(["rules", "brief"])
        .arg(&scenario)
        .arg("--out")
        .arg(&pack)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));

    let truth: std::collections::HashMap<String, bool> =
        std::fs::read_to_string(corpus.join("truth.jsonl"))
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (
                    v["url"].as_str().unwrap().to_string(),
                    v["label"] == "violating",
                )
            })
            .collect();
    let score = |extra: &[&std::path::Path]| {
        let mut cmd = trawl();
        cmd.arg("classify").arg(corpus.join("posts.jsonl"));
        for p in extra {
            cmd.arg("--rules").arg(p);
        }
        let out = run_ok(&mut cmd);
        let (mut tp, mut fp, mut pos) = (0usize, 0usize, 0usize);
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let v: Verdict = serde_json::from_str(line).unwrap();
            let violating = truth[&v.url];
            pos += usize::from(violating);
            tp += usize::from(violating && v.flagged);
            fp += usize::from(!violating && v.flagged);
        }
        (tp, fp, pos)
    };
    let (tp0, _, pos) = score(&[]);
    let (tp, fp, _) = score(&[&pack]);
    eprintln!(
        "ashen-crown: shipped pack recall {tp0}/{pos}; brief pack recall {tp}/{pos}, {fp} false alarms"
    );
    assert!(pos > 200, "{pos} violating posts");
    assert!(
        tp0 * 100 < pos * 20,
        "the shipped pack should not know this organisation: {tp0}/{pos}"
    );
    assert!(tp * 100 >= pos * 95, "brief pack recall {tp}/{pos}");
    assert!(
        fp * 100 <= (tp + fp),
        "brief pack precision: {fp} false alarms of {}",
        tp + fp
    );
}
