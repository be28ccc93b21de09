//! `schemas/recipe.schema.json`: the recipe types' schema (schemars), with
//! the free-form stage options replaced by one exact schema per stage kind,
//! taken from the subcommand's real arguments — so an editor checks option
//! names, types and choices just as `regime run` does.

use std::path::PathBuf;

use serde_json::{Map, Value, json};

use super::plan::{RESERVED, subcommand};
use super::recipe::Recipe;
use super::stages::{Reads, STAGES, StageKind};

/// The recipe schema.
pub(crate) fn recipe_schema() -> schemars::Schema {
    let mut schema = schemars::schema_for!(Recipe);
    let kinds: Vec<Value> = STAGES.iter().map(kind_schema).collect();
    if let Some(stage) = schema.pointer_mut("/$defs/StageSpec") {
        let description = stage.get("description").cloned();
        let mut one_of = Map::new();
        if let Some(description) = description {
            one_of.insert("description".into(), description);
        }
        one_of.insert("oneOf".into(), Value::Array(kinds));
        *stage = Value::Object(one_of);
    }
    schema
}

/// The schema of one stage kind: `run`, `name`, what it reads, and every
/// option of its subcommand.
fn kind_schema(kind: &StageKind) -> Value {
    let mut properties = Map::new();
    properties.insert(
        "run".into(),
        json!({ "description": "The subcommand.", "const": kind.run }),
    );
    properties.insert(
        "name".into(),
        json!({
            "description": "The stage's name and output directory.",
            "type": "string",
            "pattern": "^[A-Za-z0-9_-][A-Za-z0-9._-]*$"
        }),
    );
    let mut reads = json!({
        "anyOf": [
            { "type": "string" },
            { "type": "array", "items": { "type": "string" } }
        ]
    });
    match kind.reads {
        Reads::Corpus | Reads::Source => {
            reads["description"] =
                "\"input\", the name of an earlier corpus stage, or paths.".into();
            properties.insert("input".into(), reads);
        }
        Reads::Models => {
            reads["description"] = "Safetensors files or model directories.".into();
            properties.insert("model".into(), reads);
        }
    }
    let command = subcommand(kind);
    for arg in command.get_arguments() {
        let Some(long) = arg.get_long() else {
            continue;
        };
        let flag = format!("--{long}");
        if RESERVED.contains(&long) || kind.fixed.contains(&flag.as_str()) || arg.is_hide_set() {
            continue;
        }
        properties.insert(long.to_owned(), option_schema(arg));
    }
    let mut required = vec![json!("run")];
    if kind.reads == Reads::Models {
        required.push(json!("model"));
    }
    json!({
        "title": kind.run,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false
    })
}

/// An option's value schema: a boolean for flags, the value type (or its
/// choices) otherwise, also as a list when the option repeats.
fn option_schema(arg: &clap::Arg) -> Value {
    let description = arg.get_help().map(ToString::to_string).unwrap_or_default();
    if !arg.get_action().takes_values() {
        return json!({ "description": description, "type": "boolean" });
    }
    let choices: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_owned())
        .collect();
    let id = arg.get_value_parser().type_id();
    let one = if !choices.is_empty() {
        json!({ "type": "string", "enum": choices })
    } else if [
        std::any::TypeId::of::<u8>(),
        std::any::TypeId::of::<u16>(),
        std::any::TypeId::of::<u32>(),
        std::any::TypeId::of::<u64>(),
        std::any::TypeId::of::<usize>(),
        std::any::TypeId::of::<i32>(),
        std::any::TypeId::of::<i64>(),
    ]
    .iter()
    .any(|t| id == *t)
    {
        json!({ "type": "integer" })
    } else if id == std::any::TypeId::of::<f64>() {
        json!({ "type": "number" })
    } else if id == std::any::TypeId::of::<PathBuf>() {
        json!({ "type": "string", "description": "A path, relative to the recipe." })
    } else {
        // Custom parsers (sizes like 4G, shards like 0/3) take their text.
        json!({ "type": ["string", "integer", "number"] })
    };
    let repeats = matches!(arg.get_action(), clap::ArgAction::Append);
    if repeats {
        json!({
            "description": description,
            "anyOf": [one.clone(), { "type": "array", "items": one }]
        })
    } else {
        let mut one = one;
        one["description"] = description.into();
        one
    }
}
