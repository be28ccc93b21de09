#![expect(
    clippy::many_single_char_names,
    reason = "short names mirror the formulae in comments"
)]

use proptest::prelude::*;

use super::*;

const EPS: f64 = 1e-12;

/// One sample: (role, text) fields, tokens = whitespace words.
fn insert(state: &mut ProfileState, fields: &[(&str, &str)]) {
    state.add(&prepared(fields));
}

/// [`insert`]'s sample, measured.
fn prepared(fields: &[(&str, &str)]) -> PreparedSample {
    let words: Vec<Vec<&str>> = fields
        .iter()
        .map(|(_, t)| t.split_whitespace().collect())
        .collect();
    let inputs: Vec<FieldInput<'_>> = fields
        .iter()
        .zip(&words)
        .map(|(&(role, text), w)| FieldInput {
            role,
            text,
            tokens: TokenSeq::Words(w),
            words: Some(w),
        })
        .collect();
    let hash = |role: Option<&str>| {
        let texts: Vec<&str> = fields
            .iter()
            .filter(|f| role.is_none_or(|r| r == f.0))
            .map(|f| f.1)
            .collect();
        u128::from(xxhash_rust::xxh3::xxh3_64(texts.join("\u{1}").as_bytes()))
    };
    let mut roles: Vec<&str> = fields.iter().map(|f| f.0).collect();
    roles.sort_unstable();
    roles.dedup();
    let role_hashes: Vec<(&str, Option<u128>)> =
        roles.iter().map(|&r| (r, Some(hash(Some(r))))).collect();
    PreparedSample::new(&SampleInput {
        fields: &inputs,
        content_hash: Some(hash(None)),
        role_hashes: &role_hashes,
        ..SampleInput::default()
    })
}

/// `count` samples of 30 pseudo-random words out of 97 (mostly distinct
/// 4-grams), alternating two roles.
fn random_samples(count: usize) -> Vec<PreparedSample> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..count)
        .map(|i| {
            let text = (0..30)
                .map(|_| {
                    // xorshift64: a fixed pseudo-random word sequence.
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    format!("w{}", x % 97)
                })
                .collect::<Vec<_>>()
                .join(" ");
            prepared(&[(["user", "assistant"][i % 2], &text)])
        })
        .collect()
}

fn words_state() -> ProfileState {
    ProfileState::new(ProfileConfig::new(TokenSpace::Words)).unwrap()
}

#[test]
fn hand_computed_profile() {
    let mut s = words_state();
    insert(&mut s, &[("user", "a b a"), ("assistant", "b c")]);
    insert(&mut s, &[("user", "a b a")]);
    let r = s.finalize(None);
    // Overall: tokens a b a b c a b a → a:4, b:3, c:1; T = 8, V = 3.
    let o = &r.overall;
    assert_eq!((o.samples, o.fields, o.tokens), (2, 3, 8));
    assert_eq!((o.unigram.tokens, o.unigram.types), (8, 3));
    assert!((o.unigram.ttr - 3.0 / 8.0).abs() < EPS);
    assert!((o.unigram.hapax_share - 1.0 / 3.0).abs() < EPS);
    // Bigrams within fields: (a b)(b a) | (b c) | (a b)(b a) → total 5, distinct 3.
    let b2 = &o.ngrams["2"];
    assert_eq!((b2.total, b2.distinct), (5, 3));
    assert_eq!(b2.top[0].ngram, "a b");
    assert_eq!(b2.top[0].count, 2);
    // Trigrams: (a b a) twice → total 2, distinct 1; concentration 1.
    let t3 = &o.ngrams["3"];
    assert_eq!((t3.total, t3.distinct), (2, 1));
    assert!((t3.concentration - 1.0).abs() < EPS);
    assert_eq!(o.ngrams["4"].total, 0);
    // Roles: user in 2 samples, 2 fields, 6 tokens; assistant 1/1/2.
    let u = &r.roles["user"];
    assert_eq!((u.samples, u.fields, u.tokens), (2, 2, 6));
    assert_eq!(r.roles["assistant"].tokens, 2);
    // Per role, exact duplicates of that role's content: the user text
    // "a b a" repeats, the samples as a whole do not.
    let ud = u.duplication.as_ref().unwrap();
    assert_eq!((ud.samples, ud.exact_duplicates), (2, 1));
    assert!((ud.exact_duplicate_share - 0.5).abs() < EPS);
    assert!(ud.templates.is_empty() && ud.prompt.is_none());
    let ad = r.roles["assistant"].duplication.as_ref().unwrap();
    assert_eq!((ad.samples, ad.exact_duplicates), (1, 0));
    // Gopher per role over the samples holding the role, and overall.
    let samples = |g: &Option<crate::gopher::GopherReport>| g.as_ref().unwrap().samples;
    assert_eq!(samples(&u.gopher), 2);
    assert_eq!(samples(&r.roles["assistant"].gopher), 1);
    assert_eq!(samples(&o.gopher), 2);
    // Lengths per user field: chars 5 and 5.
    let lc = u.lengths.chars.as_ref().unwrap();
    assert!((lc.mean - 5.0).abs() < EPS && lc.std.abs() < EPS);
    // Overall lengths are per sample: tokens 5 and 3 → mean 4, std 1.
    let lt = o.lengths.tokens.as_ref().unwrap();
    assert!((lt.mean - 4.0).abs() < EPS && (lt.std - 1.0).abs() < EPS);
    assert!((lt.p50 - 3.0).abs() < EPS && (lt.p99 - 5.0).abs() < EPS);
    // Duplication: the two samples differ (hash of all fields).
    let d = o.duplication.as_ref().unwrap();
    assert_eq!((d.samples, d.exact_duplicates), (2, 0));
    assert!(o.gopher.is_some());
}

#[test]
fn gopher_metrics_per_role_measure_that_roles_text() {
    let mut s = words_state();
    insert(&mut s, &[("user", "x\nx\nx\ny"), ("assistant", "z")]);
    let r = s.finalize(None);
    let frac =
        |g: &Option<crate::gopher::GopherReport>| g.as_ref().unwrap().metrics["dup_line_frac"].mean;
    // User lines [x, x, x, y]: 2 duplicates of 4 (the Gopher definition).
    assert!((frac(&r.roles["user"].gopher) - 0.5).abs() < EPS);
    assert!(frac(&r.roles["assistant"].gopher).abs() < EPS);
    // Overall lines [x, x, x, y, z]: 2 of 5.
    assert!((frac(&r.overall.gopher) - 0.4).abs() < EPS);
}

#[test]
fn exact_duplicates_templates_and_prompt_rates() {
    let mut s = words_state();
    let segs = ["describe the image.", "be brief."];
    for i in 0..3 {
        let text = if i == 2 { "x" } else { "same" };
        let w = [text];
        let f = [FieldInput {
            role: "user",
            text,
            tokens: TokenSeq::Words(&w),
            words: None,
        }];
        s.insert(&SampleInput {
            fields: &f,
            content_hash: Some(u128::from(xxhash_rust::xxh3::xxh3_64(text.as_bytes()))),
            segments: if i == 2 { &segs[..1] } else { &segs },
            prompt_dup: Some(PromptDupCounts {
                duplicate_copies: u64::from(i == 0),
                segment_occurrences: 2,
                duplicate_chars: if i == 0 { 10 } else { 0 },
                chars: 40,
                repeated_turns: 0,
            }),
            categories: &[("source", Some(if i == 0 { "a" } else { "b" }))],
            ..SampleInput::default()
        });
    }
    let r = s.finalize(None);
    let d = r.overall.duplication.unwrap();
    // Samples 0 and 1 share content: 1 duplicate of 3.
    assert_eq!(d.exact_duplicates, 1);
    assert!((d.exact_duplicate_share - 1.0 / 3.0).abs() < EPS);
    // "describe the image." in 3 of 3 samples, "be brief." in 2 of 3.
    assert_eq!(d.templates[0].segment, "describe the image.");
    assert_eq!(d.templates[0].samples, 3);
    assert!((d.templates[1].share - 2.0 / 3.0).abs() < EPS);
    let p = d.prompt.unwrap();
    // 1 of 3 samples had a copy; 1 copy of 6 occurrences; 10 of 120 chars.
    assert!((p.sample_dup_rate - 1.0 / 3.0).abs() < EPS);
    assert!((p.segment_dup_rate - 1.0 / 6.0).abs() < EPS);
    assert!((p.char_dup_rate - 10.0 / 120.0).abs() < EPS);
    let c = &r.categories["source"];
    assert_eq!(c.counts["b"], 2);
}

#[test]
fn empty_samples_are_counted_apart_and_never_duplicates() {
    // Keys a, a, empty, empty, b: one duplicate (the second a); the two
    // empty samples are `empty`, not a duplicate of each other. Share =
    // 1 / 5, as `regime dedup exact` gives duplicates / rows.
    let mut s = words_state();
    for key in [Some(1u128), Some(1), None, None, Some(2)] {
        let w = ["x"];
        let f = [FieldInput {
            role: "user",
            text: "x",
            tokens: TokenSeq::Words(&w),
            words: None,
        }];
        s.insert(&SampleInput {
            fields: &f,
            content_hash: key,
            role_hashes: &[("user", key)],
            ..SampleInput::default()
        });
    }
    let r = s.finalize(None);
    for d in [
        r.overall.duplication.unwrap(),
        r.roles["user"].duplication.clone().unwrap(),
    ] {
        assert_eq!((d.samples, d.empty, d.exact_duplicates), (5, 2, 1));
        assert!((d.exact_duplicate_share - 0.2).abs() < EPS);
    }
}

#[test]
fn ids_space_uses_names_and_reports_ids() {
    let mut s = ProfileState::new(ProfileConfig::new(TokenSpace::Ids).with_max_n(2)).unwrap();
    let ids = [5u32, 7, 5, 7];
    let f = [FieldInput {
        role: "user",
        text: "",
        tokens: TokenSeq::Ids(&ids),
        words: None,
    }];
    s.insert(&SampleInput {
        fields: &f,
        ..SampleInput::default()
    });
    let names = |id: u32| Some(format!("t{id}"));
    let r = s.finalize(Some(&names));
    let top = &r.overall.ngrams["2"].top[0];
    assert_eq!((top.ngram.as_str(), top.count), ("t5 t7", 2));
    assert_eq!(top.ids.as_deref(), Some(&[5, 7][..]));
    assert_eq!(r.overall.unigram.types, 2);
}

#[test]
fn state_survives_a_json_round_trip() {
    let mut s = words_state();
    insert(&mut s, &[("user", "a b c d e"), ("assistant", "e d c b a")]);
    let json = serde_json::to_string(&s).unwrap();
    let back: ProfileState = serde_json::from_str(&json).unwrap();
    assert_eq!(back.finalize(None), s.finalize(None));
}

#[test]
fn small_budget_switches_to_sketches_within_bounds() {
    let text: Vec<String> = (0..400)
        .map(|i| {
            (0..30)
                .map(|j| format!("w{}", (i * 7 + j * j) % 97))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let mut exact = words_state();
    let mut sketch = ProfileState::new(
        ProfileConfig::new(TokenSpace::Words)
            .with_memory_budget(1)
            .with_sketch_capacity(256),
    )
    .unwrap();
    for t in &text {
        insert(&mut exact, &[("user", t)]);
        insert(&mut sketch, &[("user", t)]);
    }
    assert!(exact.is_exact());
    assert!(!sketch.is_exact());
    let (e, s) = (exact.finalize(None), sketch.finalize(None));
    for n in ["2", "3", "4"] {
        let (fe, fs) = (&e.overall.ngrams[n], &s.overall.ngrams[n]);
        assert!(fe.exact && !fs.exact);
        assert_eq!(fe.total, fs.total);
        let diff = f64::from(u32::try_from(fe.distinct.abs_diff(fs.distinct)).unwrap());
        assert!(
            diff <= fs.distinct_error,
            "n={n}: {} vs {} ± {}",
            fe.distinct,
            fs.distinct,
            fs.distinct_error
        );
        for t in &fe.top {
            let got = fs
                .top
                .iter()
                .find(|x| x.ngram == t.ngram)
                .map_or(0, |x| x.count);
            assert!(
                got <= t.count && t.count <= got + fs.count_error,
                "n={n} {}",
                t.ngram
            );
        }
    }
    // Unigrams are always exact.
    assert_eq!(e.overall.unigram, s.overall.unigram);
}

#[test]
fn tables_make_room_before_they_grow_past_the_budget() {
    // 4-grams over 97 words are mostly distinct, so the exact tables keep
    // doubling; the budget is checked before each doubling, not some samples
    // after it, whether samples come one by one or in groups (whose keys
    // are counted together).
    let budget = 512 << 10;
    let samples = random_samples(3000);
    for group in [1, 64] {
        let mut state = ProfileState::new(
            ProfileConfig::new(TokenSpace::Words)
                .with_memory_budget(budget)
                .with_sketch_capacity(256),
        )
        .unwrap();
        for (i, step) in samples.chunks(group).enumerate() {
            state.add_all(step);
            assert!(
                state.bytes() as u64 <= budget,
                "group of {group}, step {i}: {}",
                state.bytes()
            );
        }
        assert!(!state.is_exact());
    }
}

/// A user turn of `text` whose one prompt segment is `segment`.
fn with_segment(text: &str, segment: &str) -> PreparedSample {
    let words: Vec<&str> = text.split_whitespace().collect();
    let fields = [FieldInput {
        role: "user",
        text,
        tokens: TokenSeq::Words(&words),
        words: Some(&words),
    }];
    PreparedSample::new(&SampleInput {
        fields: &fields,
        segments: &[segment],
        ..SampleInput::default()
    })
}

#[test]
fn template_text_does_not_push_small_tables_into_sketches() {
    // The reviewer's case: one 200 KB prompt segment of 5 distinct words
    // (5 distinct n-grams per n). The text is over a 200 KB budget, but a
    // table's sketch (16 KiB of registers alone) outweighs its exact form
    // and one template fits the sketch's capacity: nothing would free
    // memory, so everything stays exact, at every budget around the text.
    let long = "a b c d e ".repeat(20_000);
    let samples = [
        with_segment(&long, &long),
        with_segment("a b c d e", "a b c d e"),
    ];
    for budget in [150 << 10, 200 << 10, 300 << 10] {
        let mut state =
            ProfileState::new(ProfileConfig::new(TokenSpace::Words).with_memory_budget(budget))
                .unwrap();
        let before = state.config().sketch_capacity;
        state.add_all(&samples);
        assert!(state.is_exact(), "budget {budget}");
        assert!(state.duplication.templates.capacity() > before);
        let r = state.finalize(None);
        for n in ["2", "3", "4"] {
            assert!(r.overall.ngrams[n].exact, "budget {budget}, n = {n}");
            assert_eq!(r.overall.ngrams[n].distinct, 5, "budget {budget}, n = {n}");
        }
    }
}

#[test]
fn the_budget_sketches_what_frees_memory_and_only_that() {
    // 600 distinct 100-character templates over one short user turn: the
    // texts are what the budget is spent on. Cutting them to the sketch's
    // 16 counters frees most of it; the tiny tables would only grow if
    // sketched, so they stay exact though the budget is still exceeded.
    let samples: Vec<PreparedSample> = (0..600)
        .map(|i| with_segment("a b c d e", &format!("{i:0>100}")))
        .collect();
    let config = || {
        ProfileConfig::new(TokenSpace::Words)
            .with_memory_budget(1)
            .with_sketch_capacity(16)
    };
    let mut state = ProfileState::new(config()).unwrap();
    state.add_all(&samples);
    assert!(state.is_exact());
    assert_eq!(state.duplication.templates.capacity(), 16);
    assert!(state.duplication.template_text.len() <= 16);
    // A table big enough to free memory is still sketched: 4-grams over 97
    // words are mostly distinct, 2-grams are at most 97².
    let mut state = ProfileState::new(config()).unwrap();
    state.add_all(&random_samples(3000));
    let user = &state.roles["user"].ngrams;
    assert!(!user[2].is_exact(), "4-grams");
    assert!(
        user.iter()
            .all(|c| c.is_exact() || c.bytes() <= c.sketch_bytes(state.config.sketch()))
    );
}

#[test]
fn a_long_field_is_counted_in_parts() {
    // 5,000 distinct words: every n-gram distinct, 3 × ≈ 5,000 keys against
    // 4,096 held at most under a 4 MiB budget.
    let text = (0..5000)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut state =
        ProfileState::new(ProfileConfig::new(TokenSpace::Words).with_memory_budget(4 << 20))
            .unwrap();
    insert(&mut state, &[("user", &text)]);
    let held: usize = state.roles["user"].pending.iter().map(Vec::capacity).sum();
    assert!(held <= 2 * state.pending_max(), "{held} keys' room held");
    assert!(state.is_exact());
    let report = state.finalize(None);
    for n in 2..=4u64 {
        let f = &report.roles["user"].ngrams[&n.to_string()];
        assert_eq!((f.total, f.distinct), (5001 - n, 5001 - n), "n={n}");
    }
}

#[test]
fn exact_counts_do_not_depend_on_how_samples_are_grouped() {
    // 6,000 samples of 30 words: 504k keys, so groups of 1,000 samples
    // are counted in several parts (past `PENDING_KEYS`) and the tables
    // fill in parallel.
    let samples = random_samples(6000);
    let report = |group: usize| {
        let mut state = words_state();
        for step in samples.chunks(group) {
            state.add_all(step);
        }
        assert!(state.is_exact());
        serde_json::to_string(&state.finalize(None)).unwrap()
    };
    let one_by_one = report(1);
    assert!(one_by_one.contains("\"assistant\""));
    for group in [7, 1000, 6000] {
        assert_eq!(report(group), one_by_one, "groups of {group}");
    }
}

#[test]
fn compare_with_itself_is_zero() {
    let mut a = words_state();
    insert(&mut a, &[("user", "a b c a b a d e f")]);
    let ra = a.finalize(None);
    let c = a.compare(&a, &ra, &ra).unwrap();
    assert!(c.js_divergence_bits.unwrap().abs() < EPS);
    assert_eq!(c.delta_types, 0);
    assert!(c.delta_entropy_bits.abs() < EPS);
    assert!(c.delta_head_mass.abs() < EPS && c.delta_tail_mass.abs() < EPS);
    assert!(
        c.delta_ngrams
            .values()
            .all(|d| d.delta_distinct == 0 && d.delta_distinct_ratio.abs() < EPS)
    );
    assert!((c.rare_type_survival - 1.0).abs() < EPS);
}

#[test]
fn compare_closed_form_js_and_survival() {
    // A: a a b b; B: a a a a. P = (½, ½), Q = (1, 0), M = (¾, ¼):
    // JS = ½[½ log₂(⅔) + ½ log₂ 2] + ½[log₂(4/3)] = 0.311278...
    let mut a = words_state();
    insert(&mut a, &[("user", "a a b b")]);
    let mut b = words_state();
    insert(&mut b, &[("user", "a a a a")]);
    let (ra, rb) = (a.finalize(None), b.finalize(None));
    let c = a.compare(&b, &ra, &rb).unwrap();
    let js = 0.5 * (0.5 * (2.0f64 / 3.0).log2() + 0.5) + 0.5 * (4.0f64 / 3.0).log2();
    assert!((c.js_divergence_bits.unwrap() - js).abs() < 1e-12);
    assert_eq!(c.delta_types, -1);
    // Both of A's types are rare (≤ 10); only "a" survives.
    assert_eq!(c.rare_types_a, 2);
    assert!((c.rare_type_survival - 0.5).abs() < EPS);
    // Types only in B add ½ q each: B = c c, A = a a → disjoint → JS = 1.
    let mut d = words_state();
    insert(&mut d, &[("user", "c c")]);
    let mut e = words_state();
    insert(&mut e, &[("user", "a a")]);
    let (rd, re) = (d.finalize(None), e.finalize(None));
    assert!((e.compare(&d, &re, &rd).unwrap().js_divergence_bits.unwrap() - 1.0).abs() < EPS);
}

#[test]
fn frequency_concentrated_copy_compares_lower() {
    // A: a Zipf-ish corpus; B: the same with every rare word replaced by "the".
    let mut a = words_state();
    let mut b = words_state();
    for i in 0..200 {
        let t = format!("the cat sat w{i} on the mat x{}", i % 7);
        insert(&mut a, &[("user", &t)]);
        let c = t
            .split_whitespace()
            .map(|w| if w.starts_with('w') { "the" } else { w })
            .collect::<Vec<_>>()
            .join(" ");
        insert(&mut b, &[("user", &c)]);
    }
    let (ra, rb) = (a.finalize(None), b.finalize(None));
    let c = a.compare(&b, &ra, &rb).unwrap();
    assert!(c.delta_entropy_bits < 0.0);
    assert!(c.delta_types < 0);
    assert!(c.delta_tail_mass < 0.0);
    assert!(c.rare_type_survival < 0.1);
    assert!(c.js_divergence_bits.unwrap() > 0.0);
}

/// A corpus without tokens has no unigram distribution, so the divergence
/// from it is undefined (`None`), whichever side it is on, and between two
/// such corpora too; the other figures are still given.
#[test]
fn compare_with_a_tokenless_side_has_no_divergence() {
    let mut full = words_state();
    insert(&mut full, &[("user", "a b c a")]);
    let mut empty = words_state();
    insert(&mut empty, &[("user", "")]);
    let (rf, re) = (full.finalize(None), empty.finalize(None));
    let c = full.compare(&empty, &rf, &re).unwrap();
    assert_eq!(c.js_divergence_bits, None);
    assert_eq!(c.delta_types, -3);
    let c = empty.compare(&full, &re, &rf).unwrap();
    assert_eq!(c.js_divergence_bits, None);
    assert_eq!(c.delta_types, 3);
    assert_eq!(
        empty.compare(&empty, &re, &re).unwrap().js_divergence_bits,
        None
    );
}

#[test]
fn combine_rejects_mismatched_settings() {
    let mut a = words_state();
    let b = ProfileState::new(ProfileConfig::new(TokenSpace::Ids)).unwrap();
    assert!(matches!(a.combine(b), Err(Error::Incompatible { .. })));
    assert!(ProfileState::new(ProfileConfig::new(TokenSpace::Words).with_max_n(5)).is_err());
}

/// Protected tokens change what a token is, so states counted with other
/// lists are not combined; the order the tokens were given in does not
/// matter.
#[test]
fn combine_rejects_other_protected_tokens() {
    let with = |tokens: &[&str]| {
        ProfileState::new(
            ProfileConfig::new(TokenSpace::Words).with_protected(tokens.iter().copied()),
        )
        .unwrap()
    };
    let mut a = with(&["[IMG]"]);
    let err = a.combine(with(&[])).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Incompatible {
                what: "protected tokens",
                ..
            }
        ),
        "{err}"
    );
    let mut b = with(&["[IMG]", "[SEP]", ""]);
    b.combine(with(&["[SEP]", "[IMG]", "[SEP]"])).unwrap();
    assert_eq!(b.config().protected(), ["[IMG]", "[SEP]"]);
}

fn sample_strategy() -> impl Strategy<Value = Vec<(u8, Vec<u8>)>> {
    prop::collection::vec((0u8..3, prop::collection::vec(0u8..12, 0..12)), 1..4)
}

fn fill(samples: &[Vec<(u8, Vec<u8>)>]) -> ProfileState {
    let mut s = words_state();
    let roles = ["user", "assistant", "system"];
    for sample in samples {
        let texts: Vec<(&str, String)> = sample
            .iter()
            .map(|(r, ws)| {
                (
                    roles[usize::from(*r)],
                    ws.iter()
                        .map(|w| format!("w{w}"))
                        .collect::<Vec<_>>()
                        .join(" "),
                )
            })
            .collect();
        let fields: Vec<(&str, &str)> = texts.iter().map(|(r, t)| (*r, t.as_str())).collect();
        insert(&mut s, &fields);
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn merge_of_two_halves_equals_the_whole(samples in prop::collection::vec(sample_strategy(), 0..30), cut in 0usize..30) {
        let cut = cut.min(samples.len());
        let whole = fill(&samples).finalize(None);
        let mut left = fill(&samples[..cut]);
        left.combine(fill(&samples[cut..])).unwrap();
        let merged = left.finalize(None);
        // Exact mode: identical up to float summation order.
        prop_assert_eq!(&merged.overall.ngrams, &whole.overall.ngrams);
        prop_assert_eq!(&merged.roles.keys().collect::<Vec<_>>(), &whole.roles.keys().collect::<Vec<_>>());
        for (r, m) in &merged.roles {
            prop_assert_eq!(&m.ngrams, &whole.roles[r].ngrams);
            prop_assert_eq!(m.unigram.types, whole.roles[r].unigram.types);
        }
        let (mu, wu) = (&merged.overall.unigram, &whole.overall.unigram);
        prop_assert_eq!((mu.tokens, mu.types), (wu.tokens, wu.types));
        prop_assert!((mu.entropy_bits - wu.entropy_bits).abs() < 1e-9);
        prop_assert_eq!(&merged.overall.duplication, &whole.overall.duplication);
        let (mg, wg) = (merged.overall.gopher.as_ref(), whole.overall.gopher.as_ref());
        prop_assert_eq!(mg.map(|g| g.samples), wg.map(|g| g.samples));
    }
}
