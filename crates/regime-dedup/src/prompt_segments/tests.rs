use unicode_normalization::UnicodeNormalization;

use super::*;

fn run_with(dedup: &PromptDedup, fields: &[(Role, &str)]) -> SampleDedup {
    let fields: Vec<PromptField<'_>> = fields
        .iter()
        .map(|&(role, text)| PromptField::new(role, text))
        .collect();
    let mut out = SampleDedup::default();
    dedup.run(&fields, &mut out);
    out
}

fn run(fields: &[(Role, &str)]) -> SampleDedup {
    run_with(&PromptDedup::builder().build().unwrap(), fields)
}

fn edit(out: &SampleDedup, field: usize) -> Option<&str> {
    out.edits
        .iter()
        .find(|e| e.field == field)
        .map(|e| e.text.as_str())
}

/// The fields after `out`'s edits.
fn applied(fields: &[(Role, &str)], out: &SampleDedup) -> Vec<(Role, String)> {
    fields
        .iter()
        .enumerate()
        .map(|(i, &(role, text))| (role, edit(out, i).unwrap_or(text).to_owned()))
        .collect()
}

fn borrowed(fields: &[(Role, String)]) -> Vec<(Role, &str)> {
    fields.iter().map(|(r, t)| (*r, t.as_str())).collect()
}

const Q: &str = "what is the blue shape?";

/// One segment can hold several copies, each counted: more copies than
/// segments, so `segment_dup_rate` can exceed 1.
#[test]
fn one_segment_can_hold_several_copies() {
    let out = run(&[
        (Role::User, "what is the blue shape"),
        (
            Role::Metadata,
            r#"{"prompt": "what is the blue shape", "question": "what is the blue shape", "q": "what is the blue shape"}"#,
        ),
    ]);
    assert_eq!(out.counts.segments, 2);
    assert_eq!(out.counts.copies, 3);
    assert_eq!(out.removed, ["what is the blue shape"; 3]);
}

#[test]
fn verbatim_copy_in_a_later_field_is_removed() {
    let out = run(&[
        (Role::User, "<image>\nwhat is the blue shape?"),
        (Role::Assistant, "what is the blue shape?"),
        (Role::System, "You are helpful. what is the blue shape?"),
        (Role::Caption, "what is the blue shape?"),
    ]);
    assert_eq!(out.removed, [Q, Q]);
    assert_eq!(edit(&out, 1), None, "assistant turns are never touched");
    assert_eq!(edit(&out, 2), Some("You are helpful."));
    assert_eq!(edit(&out, 3), Some(""));
    assert_eq!(out.counts.copies, 2);
    assert_eq!(out.counts.copy_chars, 2 * Q.len() as u64);
    // user: 1 segment; system: 2; caption: 1.
    assert_eq!(out.counts.segments, 4);
    let chars = "<image>\nwhat is the blue shape?".len()
        + "You are helpful. what is the blue shape?".len()
        + Q.len();
    assert_eq!(out.counts.chars, chars as u64);
}

#[test]
fn priority_puts_user_turns_first_whatever_the_field_order() {
    // The system field comes first in the sample, but the user turn holds
    // the canonical instance.
    let out = run(&[
        (Role::System, "Answer this: what is the blue shape?"),
        (Role::User, "what is the blue shape?"),
    ]);
    assert_eq!(edit(&out, 0), Some("Answer this:"));
    assert_eq!(edit(&out, 1), None);
}

#[test]
fn configured_priority_moves_the_canonical_instance() {
    let dedup = PromptDedup::builder()
        .with_priority(vec![Role::Caption, Role::User])
        .build()
        .unwrap();
    let out = run_with(
        &dedup,
        &[
            (Role::User, "Describe it. what is the blue shape?"),
            (Role::Caption, "what is the blue shape?"),
        ],
    );
    assert_eq!(edit(&out, 0), Some("Describe it."));
    assert_eq!(out.counts.repeated_turns, 0);
}

#[test]
fn substrings_only_at_word_boundaries() {
    let out = run(&[
        (Role::User, "describe the picture"),
        (
            Role::Caption,
            "Please describe the pictures now; describe the picture, then stop",
        ),
    ]);
    assert_eq!(out.removed, ["describe the picture"]);
    assert_eq!(
        edit(&out, 1),
        Some("Please describe the pictures now; then stop")
    );
}

#[test]
fn substrings_never_end_inside_a_uax29_word() {
    // UAX #29 keeps `image's`, `3.5`, `it’s` and `x.Then` whole: a copy
    // ending or starting inside them would cut a word.
    for (user, later) in [
        (
            "How many people are in the image",
            "How many people are in the image's foreground? Three.",
        ),
        (
            "The final answer is 3",
            "The final answer is 3.5 metres long.",
        ),
        (
            "Describe what you see in it",
            "Describe what you see in it\u{2019}s frame.",
        ),
        (
            "Look at the picture below",
            "Look at the picture below.Then answer.",
        ),
        ("hidden in the text here", "s'hidden in the text here"),
    ] {
        let out = run(&[(Role::User, user), (Role::Caption, later)]);
        assert!(out.removed.is_empty(), "{later:?}: {:?}", out.removed);
    }
    // A sentence end is a boundary: the copy goes.
    let out = run(&[
        (Role::User, "The final answer is 3"),
        (Role::Caption, "The final answer is 3. Check it."),
    ]);
    assert_eq!(out.removed, ["The final answer is 3"]);
    assert_eq!(edit(&out, 1), Some(". Check it."));
}

#[test]
fn decomposed_hangul_matches_its_nfc_form() {
    // NFC joins conjoining jamo (two starters) into syllables, so the
    // decomposed copy is the same segment.
    let nfc = "이 그림에서 무엇을 볼 수 있습니까?";
    let nfd: String = nfc.nfd().collect();
    assert_ne!(nfd, nfc);
    let caption = format!("사진 설명. {nfd}");
    let out = run(&[(Role::User, nfc), (Role::Caption, &caption)]);
    assert_eq!(out.removed, [nfd.as_str()]);
    assert_eq!(edit(&out, 1), Some("사진 설명."));
    // The short caption sentence is no template; both forms are one.
    assert_eq!(out.templates().count(), 1);
}

#[test]
fn case_fold_matches_across_sharp_s_and_final_sigma() {
    let dedup = PromptDedup::builder().with_case_fold(true).build().unwrap();
    let out = run_with(
        &dedup,
        &[
            (Role::User, "Die Straße ist sehr lang heute."),
            (Role::Caption, "Foto. DIE STRASSE IST SEHR LANG HEUTE."),
            (Role::Ocr, "ποιο χρωμα εχει της εικονας;"),
            (Role::User, "ΠΟΙΟ ΧΡΩΜΑ ΕΧΕΙ ΤΗΣ ΕΙΚΟΝΑΣ;"),
        ],
    );
    assert_eq!(edit(&out, 1), Some("Foto."));
    // The later user turn is canonical first (user turns lead), so the
    // OCR copy goes.
    assert_eq!(edit(&out, 2), Some(""));
}

#[test]
fn a_user_turn_left_with_punctuation_alone_is_a_repeated_turn() {
    for turn in [
        "\"what is the blue shape?\"",
        "(what is the blue shape?)",
        "what is the blue shape? !",
    ] {
        let out = run(&[(Role::User, Q), (Role::User, turn)]);
        assert_eq!(edit(&out, 1), None, "{turn:?} stays as stored");
        assert_eq!(out.counts.repeated_turns, 1, "{turn:?}");
        assert!(out.removed.is_empty());
    }
}

#[test]
fn short_segments_are_never_canonical() {
    let out = run(&[(Role::User, "is it red?"), (Role::Caption, "is it red?")]);
    assert!(out.removed.is_empty());
    assert_eq!(out.counts.segments, 2);
}

#[test]
fn repeated_user_turn_is_kept_and_counted() {
    let out = run(&[
        (Role::User, "<image>\nwhat is the blue shape?"),
        (Role::Assistant, "rectangle"),
        (Role::User, "what is the blue shape?"),
        (Role::Assistant, "rectangle"),
        (Role::User, "<image> what is the blue shape?"),
    ]);
    assert!(out.edits.is_empty());
    assert!(out.removed.is_empty());
    assert_eq!(out.counts.repeated_turns, 2);
    assert_eq!(out.counts.copies, 0);
}

#[test]
fn later_user_turn_loses_only_the_copied_part() {
    let out = run(&[
        (Role::User, "what is the blue shape?"),
        (Role::User, "what is the blue shape? Answer in one word."),
    ]);
    assert_eq!(edit(&out, 1), Some("Answer in one word."));
}

#[test]
fn whole_segment_repeat_inside_one_field() {
    let out = run(&[(
        Role::Caption,
        "A blue square on white. A blue square on white. Nothing else.",
    )]);
    assert_eq!(out.removed, ["A blue square on white."]);
    assert_eq!(edit(&out, 0), Some("A blue square on white. Nothing else."));
}

#[test]
fn normalisation_matches_across_whitespace_and_keeps_the_stored_copy() {
    let out = run(&[
        (Role::User, "what is the   blue shape?"),
        (Role::Metadata, "{\"q\": \"what is\nthe blue shape?\"}"),
    ]);
    assert_eq!(out.removed, ["what is\nthe blue shape?"]);
    assert_eq!(edit(&out, 1), Some("{\"q\": \"\"}"));
}

#[test]
fn case_fold_is_optional() {
    let fields = [(Role::User, Q), (Role::Caption, "WHAT IS THE BLUE SHAPE?")];
    assert!(run(&fields).removed.is_empty());
    let dedup = PromptDedup::builder().with_case_fold(true).build().unwrap();
    assert_eq!(
        run_with(&dedup, &fields).removed,
        ["WHAT IS THE BLUE SHAPE?"]
    );
}

#[test]
fn protected_tokens_are_never_removed() {
    let out = run(&[
        (Role::User, "<image> what is the blue shape?"),
        (Role::Caption, "<image> what is the blue shape?"),
    ]);
    assert_eq!(edit(&out, 1), Some("<image>"));
}

#[test]
fn templates_are_distinct_canonical_length_segments() {
    let out = run(&[
        (Role::User, "what is the blue shape? ok."),
        (Role::System, "You are a helpful assistant."),
        (Role::Caption, "what is the blue shape?"),
    ]);
    let t: Vec<&str> = out.templates().map(|(_, t)| t).collect();
    assert_eq!(t, [Q, "You are a helpful assistant."]);
}

#[test]
fn roles_outside_the_priority_are_ignored() {
    let out = run(&[(Role::User, Q), (Role::Other, Q), (Role::Assistant, Q)]);
    assert!(out.removed.is_empty());
    assert_eq!(out.counts.segments, 1);
}

/// The proptest counterexample to idempotence: canonical segments used to
/// come from the stored text, so system's "what shape?" stayed canonical
/// after losing "what", and only a second run removed the "shape?" it left
/// from the caption.
#[test]
fn a_second_run_finds_nothing_when_a_removal_leaves_a_new_segment() {
    let dedup = PromptDedup::builder().with_min_chars(4).build().unwrap();
    let fields = [
        (Role::Caption, "is shape? shape?"),
        (Role::User, "the shape? what"),
        (Role::System, "what shape?"),
    ];
    let out = run_with(&dedup, &fields);
    // user first: "the shape?", "what"; system loses "what" and leaves the
    // canonical "shape?"; the caption loses both of its copies.
    assert_eq!(edit(&out, 2), Some("shape?"));
    assert_eq!(edit(&out, 0), Some("is"));
    assert_eq!(edit(&out, 1), None);
    assert_eq!(out.removed, ["what", "shape?", "shape?"]);
    assert_eq!(out.counts.copies, 3);
    assert_eq!(out.counts.copy_chars, 4 + 6 + 6);
    let once = applied(&fields, &out);
    let again = run_with(&dedup, &borrowed(&once));
    assert!(again.edits.is_empty(), "{:?}", again.edits);
    assert_eq!(again.counts.copies, 0);
}

#[test]
fn a_removal_that_joins_a_new_copy_is_removed_in_the_same_run() {
    // Removing the caption's copy of the user turn joins "the blue" and
    // "shape?" on one line, which then holds the system's canonical
    // segment "what is the blue shape?" as a whole.
    let out = run(&[
        (Role::User, "Describe the picture please"),
        (Role::System, "what is the blue shape?"),
        (
            Role::Caption,
            "what is the blue Describe the picture please shape? A cat.",
        ),
    ]);
    assert_eq!(
        out.removed,
        ["Describe the picture please", "what is the blue shape?"]
    );
    assert_eq!(edit(&out, 2), Some("A cat."));
}

#[test]
fn builder_rejects_bad_priorities() {
    assert!(
        PromptDedup::builder()
            .with_priority(vec![Role::User, Role::Assistant])
            .build()
            .is_err()
    );
    assert!(
        PromptDedup::builder()
            .with_priority(vec![Role::User, Role::User])
            .build()
            .is_err()
    );
    assert!(
        PromptDedup::builder()
            .with_priority(vec![])
            .build()
            .is_err()
    );
    assert!(PromptDedup::builder().with_min_chars(0).build().is_err());
}

mod props {
    use proptest::prelude::*;

    use super::*;

    fn words() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("what"),
                Just("is"),
                Just("the"),
                Just("blue"),
                Just("shape?"),
                Just("<image>"),
                Just("\n"),
                Just("é"),
                Just("e\u{301}"),
                Just("中文"),
                Just("."),
            ],
            0..12,
        )
        .prop_map(|w| w.join(" "))
    }

    proptest! {
        // A fixed seed keeps CI reproducible; failures print the case.
        #![proptest_config(ProptestConfig {
            cases: 2048,
            rng_seed: proptest::test_runner::RngSeed::Fixed(1),
            ..ProptestConfig::default()
        })]
        #[test]
        fn never_panics_keeps_protected_tokens_and_is_idempotent(
            fields in proptest::collection::vec((0usize..4, words()), 0..6),
            min_chars in 1usize..12,
        ) {
            let roles = [Role::User, Role::Assistant, Role::Caption, Role::System];
            let fields: Vec<(Role, &str)> = fields
                .iter()
                .map(|(r, t)| (roles[*r], t.as_str()))
                .collect();
            let dedup = PromptDedup::builder().with_min_chars(min_chars).build().unwrap();
            let out = run_with(&dedup, &fields);
            for e in &out.edits {
                let before = fields[e.field].1.matches("<image>").count();
                prop_assert_eq!(e.text.matches("<image>").count(), before);
                prop_assert_ne!(fields[e.field].0, Role::Assistant);
            }
            prop_assert_eq!(out.removed.len() as u64, out.counts.copies);
            // Running again on the output changes nothing.
            let once = applied(&fields, &out);
            let second = run_with(&dedup, &borrowed(&once));
            prop_assert!(second.edits.is_empty(), "second run edited {:?}", second.edits);
            prop_assert_eq!(second.counts.copies, 0);
            prop_assert_eq!(second.counts, out.output);
            let t2: Vec<(u64, &str)> = second.templates().collect();
            let t1: Vec<(u64, &str)> = out.output_templates().collect();
            prop_assert_eq!(t2, t1);
        }
    }
}

/// Runs parts: `(role, turn, text)`, `turn` set for text parts of a turn.
fn run_parts(parts: &[(Role, Option<usize>, &str)]) -> SampleDedup {
    let fields: Vec<PromptField<'_>> = parts
        .iter()
        .map(|&(role, turn, text)| PromptField { role, text, turn })
        .collect();
    let mut out = SampleDedup::default();
    PromptDedup::builder()
        .build()
        .unwrap()
        .run(&fields, &mut out);
    out
}

const INS: &str = "Answer the question using a single word.";

#[test]
fn a_copied_part_goes_when_its_turn_keeps_text() {
    // As if the turns were strings `INS\nQ`: the later INS is removed.
    let parts = [
        (Role::User, Some(0), INS),
        (Role::User, Some(0), "What colour is the shape?"),
        (Role::Assistant, Some(1), "Blue."),
        (Role::User, Some(2), INS),
        (Role::User, Some(2), "What shape is it?"),
    ];
    let out = run_parts(&parts);
    assert_eq!(out.removed, [INS]);
    assert_eq!(edit(&out, 3), Some(""));
    assert_eq!(out.edits.len(), 1);
    assert_eq!(out.counts.repeated_turns, 0);
    assert_eq!(out.counts.copies, 1);
    let joined = run(&[
        (Role::User, &format!("{INS}\nWhat colour is the shape?")),
        (Role::Assistant, "Blue."),
        (Role::User, &format!("{INS}\nWhat shape is it?")),
    ]);
    assert_eq!(out.counts.copies, joined.counts.copies);
    assert_eq!(out.counts.copy_chars, joined.counts.copy_chars);
    assert_eq!(out.counts.segments, joined.counts.segments);
}

#[test]
fn a_turn_of_copied_parts_is_one_repeated_turn_kept_whole() {
    let parts = [
        (Role::User, Some(0), INS),
        (Role::User, Some(0), "What colour is the shape?"),
        (Role::User, Some(2), INS),
        (Role::User, Some(2), "What colour is the shape?"),
        (
            Role::Caption,
            None,
            "A red square. What colour is the shape?",
        ),
    ];
    let out = run_parts(&parts);
    // The turn stays as stored, counted once; the caption loses its copy.
    assert_eq!(out.counts.repeated_turns, 1);
    assert_eq!(out.output.repeated_turns, 1);
    assert_eq!(edit(&out, 2), None);
    assert_eq!(edit(&out, 3), None);
    assert_eq!(edit(&out, 4), Some("A red square."));
    assert_eq!(out.removed, ["What colour is the shape?"]);
    // A second run over the output finds nothing more and the same turn.
    let fields: Vec<(Role, Option<usize>, String)> = parts
        .iter()
        .enumerate()
        .map(|(i, &(role, turn, text))| (role, turn, edit(&out, i).unwrap_or(text).to_owned()))
        .collect();
    let again: Vec<(Role, Option<usize>, &str)> = fields
        .iter()
        .map(|(role, turn, text)| (*role, *turn, text.as_str()))
        .collect();
    let second = run_parts(&again);
    assert_eq!(second.counts.copies, 0);
    assert_eq!(second.counts.repeated_turns, 1);
    assert_eq!(second.counts, out.output);
    let templates: Vec<_> = second.templates().collect();
    let output_templates: Vec<_> = out.output_templates().collect();
    assert_eq!(templates, output_templates);
}

#[test]
fn a_restored_turn_gives_its_stored_canonical_segments() {
    // Turn 2 would be left with `«»` alone, so it stays as stored, and its
    // stored `«Q»` (not what was left of it) is canonical: the caption's
    // copy of it goes whole.
    let q = "What colour is the shape?";
    let quoted = "«What colour is the shape?»";
    let parts = [
        (Role::User, Some(0), q),
        (Role::User, Some(2), quoted),
        (Role::Caption, None, quoted),
    ];
    let out = run_parts(&parts);
    assert_eq!(out.counts.repeated_turns, 1);
    assert_eq!(edit(&out, 1), None);
    assert_eq!(out.removed, [quoted]);
    assert_eq!(edit(&out, 2), Some(""));
}

#[test]
fn parts_of_one_turn_are_one_field_in_pieces() {
    // Within one field only whole repeated segments are copies: a part
    // quoting an earlier part of its turn is not one, a part repeating it
    // whole is (as `Q\n«Q»` and `Q\nQ` in one string).
    let q = "What colour is the shape?";
    let quoted = "«What colour is the shape?»";
    for (second, copies) in [(quoted, 0), (q, 1)] {
        let parts = [(Role::User, Some(0), q), (Role::User, Some(0), second)];
        let out = run_parts(&parts);
        let joined = run(&[(Role::User, &format!("{q}\n{second}"))]);
        assert_eq!(out.counts.copies, copies, "{second}");
        assert_eq!(joined.counts.copies, copies, "{second}");
        assert_eq!(out.counts.repeated_turns, 0);
    }
    // The turn's segments are canonical for the fields after it.
    let parts = [
        (Role::User, Some(0), q),
        (Role::User, Some(0), quoted),
        (Role::Caption, None, quoted),
    ];
    assert_eq!(run_parts(&parts).removed, [quoted]);
}

#[test]
fn a_later_part_repeating_an_earlier_part_as_stored_is_a_copy() {
    // In one string the first search sees every line as stored: the third
    // line repeats the first whole (quotes included) and goes whole,
    // though the first line loses its inner copy.
    let a = "Answer the question using a single word.";
    let quoted = "\"Answer the question using a single word.\"";
    let parts = [
        (Role::User, Some(0), a),
        (Role::User, Some(2), quoted),
        (Role::User, Some(2), "Look closely now, please."),
        (Role::User, Some(2), quoted),
    ];
    let out = run_parts(&parts);
    let joined = run(&[
        (Role::User, a),
        (
            Role::User,
            &format!("{quoted}\nLook closely now, please.\n{quoted}"),
        ),
    ]);
    assert_eq!(joined.removed, [a, quoted]);
    assert_eq!(out.removed, [a, quoted]);
    assert_eq!(
        out.counts,
        SampleCounts {
            chars: out.counts.chars,
            ..joined.counts
        }
    );
}
