//! End-to-end tests of the `regime` binary on real and generated data.

mod common;
mod condition_c;
mod input_errors;
mod inspect;
mod interrupt;
mod profile;
mod prompt_dedup;
mod spectral;
