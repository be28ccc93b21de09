//! Tensor names: module classification, layer index and wrapper prefixes.
//!
//! - The **layer** is the first integer path component after a `layers`,
//!   `layer`, `blocks` or `h` component (`model.layers.3.…` → 3).
//! - The **module** is the rest of the path after the layer index, without
//!   the trailing `weight` (`self_attn.v_proj`, `attention.self.query`,
//!   `attn.qkv`); names without a layer are `embeddings` (any component
//!   containing `embed`, or `wte`/`wpe`), `lm_head`, or the path itself.
//! - A **stack** is the path up to the layer container (`model.layers`,
//!   `visual.blocks`); profiles are drawn per stack when a model has several.
//! - **Wrapper prefixes** (`model.language_model.`, `language_model.model.`,
//!   …) are rewritten by a [`PrefixMap`] so that tensors of a base model and
//!   of a model derived from it align by name.

use serde::Serialize;

/// Path components that hold the per-layer blocks.
const LAYER_CONTAINERS: [&str; 4] = ["layers", "layer", "blocks", "h"];

/// What a tensor name says about the tensor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameInfo {
    /// Module within a layer (e.g. `self_attn.q_proj`), or the name's role.
    pub module: String,
    /// Layer index, when the name has one.
    pub layer: Option<u32>,
    /// Path of the layer container (`model.layers`), empty when there is none.
    pub stack: String,
}

/// Classifies a tensor name (after prefix rewriting).
#[must_use]
pub fn classify(name: &str) -> NameInfo {
    let parts: Vec<&str> = name.split('.').collect();
    let body_end = if parts.last() == Some(&"weight") {
        parts.len() - 1
    } else {
        parts.len()
    };
    for (i, pair) in parts.windows(2).enumerate() {
        if LAYER_CONTAINERS.contains(&pair[0])
            && let Ok(layer) = pair[1].parse::<u32>()
        {
            let rest_start = i + 2;
            let module = if rest_start < body_end {
                parts[rest_start..body_end].join(".")
            } else {
                "block".to_owned()
            };
            return NameInfo {
                module,
                layer: Some(layer),
                stack: parts[..=i].join("."),
            };
        }
    }
    let body = &parts[..body_end];
    let module = if body
        .iter()
        .any(|p| p.contains("embed") || *p == "wte" || *p == "wpe")
    {
        "embeddings".to_owned()
    } else if body.contains(&"lm_head") {
        "lm_head".to_owned()
    } else {
        body.join(".")
    };
    NameInfo {
        module,
        layer: None,
        stack: String::new(),
    }
}

/// Whether a module is a fused query/key/value projection to split in thirds
/// (vision towers: `attn.qkv`).
#[must_use]
pub fn is_fused_qkv(module: &str) -> bool {
    module == "attn.qkv" || module.ends_with(".attn.qkv")
}

/// Name of one third of a fused `attn.qkv` tensor: `…attn.qkv.weight` →
/// `…attn.qkv_q.weight` for `part` = `q`.
#[must_use]
pub fn fused_part_name(name: &str, part: char) -> String {
    match name.strip_suffix(".weight") {
        Some(stem) => format!("{stem}_{part}.weight"),
        None => format!("{name}_{part}"),
    }
}

/// Ordered prefix rewrite rules applied to names before aligning two models.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixMap {
    rules: Vec<(String, String)>,
}

impl Default for PrefixMap {
    /// The known wrappers of multimodal, PEFT, DDP and `torch.compile` checkpoints.
    fn default() -> Self {
        let rules = [
            ("model.language_model.", "model."),
            ("language_model.model.", "model."),
            ("model.text_model.", "model."),
            ("text_model.model.", "model."),
            ("model.llm.", "model."),
            ("llm.model.", "model."),
            ("language_model.lm_head.", "lm_head."),
            ("model.lm_head.", "lm_head."),
            ("base_model.model.", ""),
            ("_orig_mod.", ""),
            ("module.", ""),
            ("model.visual.", "visual."),
            ("model.vision_tower.", "vision_tower."),
        ];
        Self {
            rules: rules
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
        }
    }
}

impl PrefixMap {
    /// A map with no rules (names are compared as they are).
    #[must_use]
    pub fn empty() -> Self {
        Self { rules: Vec::new() }
    }

    /// A map with `rules` (`from` prefix → `to` prefix) tried before the defaults.
    #[must_use]
    pub fn with_rules(rules: Vec<(String, String)>) -> Self {
        let mut map = Self::default();
        let mut all = rules;
        all.append(&mut map.rules);
        map.rules = all;
        map
    }

    /// Rewrites `name` with the rules, repeatedly, until none applies (at
    /// most once per rule, so a cycle cannot loop).
    #[must_use]
    pub fn canonical(&self, name: &str) -> String {
        let mut out = name.to_owned();
        for _ in 0..=self.rules.len() {
            let Some((from, to)) = self.rules.iter().find(|(from, to)| {
                out.starts_with(from.as_str()) && !(to.starts_with(from.as_str()))
            }) else {
                break;
            };
            out = format!("{to}{}", &out[from.len()..]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama_names() {
        let info = classify("model.layers.12.self_attn.v_proj.weight");
        assert_eq!(info.module, "self_attn.v_proj");
        assert_eq!(info.layer, Some(12));
        assert_eq!(info.stack, "model.layers");
        assert_eq!(
            classify("model.layers.0.mlp.up_proj.weight").module,
            "mlp.up_proj"
        );
        assert_eq!(classify("model.embed_tokens.weight").module, "embeddings");
        assert_eq!(classify("lm_head.weight").module, "lm_head");
    }

    #[test]
    fn bert_names() {
        let q = classify("encoder.layer.3.attention.self.query.weight");
        assert_eq!(
            (q.module.as_str(), q.layer),
            ("attention.self.query", Some(3))
        );
        assert_eq!(
            classify("encoder.layer.0.attention.output.dense.weight").module,
            "attention.output.dense"
        );
        assert_eq!(
            classify("encoder.layer.0.intermediate.dense.weight").module,
            "intermediate.dense"
        );
        assert_eq!(
            classify("encoder.layer.5.output.dense.weight").module,
            "output.dense"
        );
        assert_eq!(
            classify("embeddings.word_embeddings.weight").module,
            "embeddings"
        );
        let pooler = classify("pooler.dense.weight");
        assert_eq!(
            (pooler.module.as_str(), pooler.layer),
            ("pooler.dense", None)
        );
    }

    #[test]
    fn gpt2_and_vision_names() {
        let h = classify("transformer.h.7.attn.c_attn.weight");
        assert_eq!((h.module.as_str(), h.layer), ("attn.c_attn", Some(7)));
        assert_eq!(classify("transformer.wte.weight").module, "embeddings");
        let v = classify("visual.blocks.31.attn.qkv.weight");
        assert_eq!(
            (v.module.as_str(), v.layer, v.stack.as_str()),
            ("attn.qkv", Some(31), "visual.blocks")
        );
        assert!(is_fused_qkv(&v.module));
        assert_eq!(
            fused_part_name("visual.blocks.31.attn.qkv.weight", 'k'),
            "visual.blocks.31.attn.qkv_k.weight"
        );
        assert_eq!(
            classify("visual.blocks.31.attn.qkv_k.weight").module,
            "attn.qkv_k"
        );
        assert!(!is_fused_qkv("attn.qkv_k"));
    }

    #[test]
    fn qwen2_vl_prefixes_align_with_the_base() {
        let map = PrefixMap::default();
        let base = "model.layers.3.self_attn.v_proj.weight";
        for derived in [
            "model.language_model.layers.3.self_attn.v_proj.weight",
            "language_model.model.layers.3.self_attn.v_proj.weight",
            "base_model.model.model.layers.3.self_attn.v_proj.weight",
            "model.layers.3.self_attn.v_proj.weight",
        ] {
            assert_eq!(map.canonical(derived), base, "{derived}");
        }
        assert_eq!(
            map.canonical("language_model.lm_head.weight"),
            "lm_head.weight"
        );
        assert_eq!(
            map.canonical("model.visual.blocks.0.attn.qkv.weight"),
            "visual.blocks.0.attn.qkv.weight"
        );
        assert_eq!(PrefixMap::empty().canonical("module.x"), "module.x");
        let custom = PrefixMap::with_rules(vec![("mm.".into(), "model.".into())]);
        assert_eq!(
            custom.canonical("mm.layers.1.x.weight"),
            "model.layers.1.x.weight"
        );
    }
}
