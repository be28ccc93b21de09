//! End-to-end tests of the `regime` binary on real and generated data.

#![expect(
    clippy::unwrap_used,
    clippy::cast_precision_loss,
    reason = "test helpers fail loudly; rates of small counts"
)]

mod common;
mod condition_c;
mod dedup;
mod dedup_scale;
mod dictionary;
mod input_errors;
mod inputs;
mod inspect;
mod interrupt;
mod profile;
mod prompt_dedup;
mod run;
mod schemas;
mod spectral;
mod teacher;
mod teacher_server;
