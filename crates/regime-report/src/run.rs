//! The `regime run` page: every stage of a recipe with its status, the
//! command it ran, links to its reports and its key figures.

use crate::html::{Block, HtmlPage, Section};

/// One stage as the run page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunStage {
    /// Stage name (its directory).
    pub name: String,
    /// The subcommand, e.g. `dedup near`.
    pub run: String,
    /// `ran`, `up to date`, `not selected`, `check failed`, …
    pub status: String,
    /// The command line it ran.
    pub command: String,
    /// Links to its files: label and URL relative to the page.
    pub links: Vec<(String, String)>,
    /// Key figures: label and formatted value.
    pub figures: Vec<(String, String)>,
}

/// The run page: a summary table of every stage, then one section per
/// stage with its links and figures.
#[must_use]
pub fn run_page(title: &str, description: Option<&str>, stages: &[RunStage]) -> HtmlPage {
    let mut page = HtmlPage::new(title);
    if let Some(description) = description {
        page = page.with_subtitle(description);
    }
    let rows = stages
        .iter()
        .enumerate()
        .map(|(i, s)| {
            vec![
                (i + 1).to_string(),
                s.name.clone(),
                s.run.clone(),
                s.status.clone(),
            ]
        })
        .collect();
    page = page.with_section(Section::new("Stages").with(Block::Table {
        headers: vec!["#".into(), "stage".into(), "runs".into(), "status".into()],
        rows,
    }));
    for stage in stages {
        let mut section = Section::new(format!("{} ({})", stage.name, stage.run)).with(
            Block::Paragraph(format!("{} · {}", stage.status, stage.command)),
        );
        if !stage.links.is_empty() {
            section = section.with(Block::Links(stage.links.clone()));
        }
        if !stage.figures.is_empty() {
            section = section.with(Block::KeyFigures(stage.figures.clone()));
        }
        page = page.with_section(section);
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_links_every_stage_and_shows_figures() {
        let stages = vec![
            RunStage {
                name: "profile".into(),
                run: "profile".into(),
                status: "ran".into(),
                command: "regime profile in.parquet".into(),
                links: vec![("report.html".into(), "profile/report.html".into())],
                figures: vec![("samples".into(), "5000".into())],
            },
            RunStage {
                name: "dedup".into(),
                run: "dedup near".into(),
                status: "up to date".into(),
                command: "regime dedup near x".into(),
                links: vec![("report.json".into(), "dedup/report.json".into())],
                figures: vec![],
            },
        ];
        let mut html = Vec::new();
        run_page("run <q>", Some("d"), &stages)
            .render(&mut html)
            .expect("render");
        let html = String::from_utf8(html).expect("utf8");
        assert!(html.contains("<a href=\"profile/report.html\">report.html</a>"));
        assert!(html.contains("<a href=\"dedup/report.json\">report.json</a>"));
        assert!(html.contains("<td>5000</td>"));
        assert!(html.contains("run &lt;q&gt;"));
        assert!(!html.contains("<script"));
    }
}
