//! Report rendering for regime: self-contained HTML pages with inline SVG
//! charts, written to any [`std::io::Write`].
//!
//! The crate never opens files and never computes statistics: callers pass
//! finished results (for the spectral audit, the result types of
//! `regime-spectral`) and a writer. Pages have no scripts, fonts or external
//! assets, and the same input gives the same bytes.
//!
//! # Overview
//! - [`HtmlPage`], [`Section`] and [`Block`] build a page generically.
//! - [`chart`] holds the SVG primitives: [`chart::Histogram`] (with
//!   vertical [`chart::Marker`] lines), [`chart::LineChart`] (multi-series,
//!   optional log axes) and [`chart::BarChart`].
//! - [`spectral`] builds the `regime spectral` and `regime spectral-compare`
//!   pages from audits and summaries.
//! - [`dedup`] builds the `regime dedup` page (S-curve, cluster sizes).
//! - [`profile`] builds the `regime profile` and `regime profile --compare`
//!   pages from `regime-stats` reports.
//! - [`run`] builds the `regime run` page linking every stage's reports.
//!
//! # Example
//! ```
//! use regime_report::chart::{Histogram, Marker};
//! use regime_report::{Block, HtmlPage, Section};
//!
//! let hist = Histogram {
//!     title: "α".into(),
//!     x_label: "alpha".into(),
//!     y_label: "matrices".into(),
//!     edges: vec![0.0, 2.0, 4.0, 6.0],
//!     counts: vec![1, 5, 2],
//!     markers: vec![Marker { x: 2.0, label: "α = 2".into() }],
//!     equal_bins: false,
//! };
//! let page = HtmlPage::new("Report").with_section(Section::new("α").with(Block::Svg(hist.to_svg())));
//! let mut html = Vec::new();
//! page.render(&mut html)?;
//! assert!(String::from_utf8(html)?.contains("<svg"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod chart;
pub mod dedup;
mod error;
mod html;
pub mod profile;
pub mod run;
pub mod spectral;

pub use error::{Error, Result};
pub use html::{Block, HtmlPage, Section, escape};
