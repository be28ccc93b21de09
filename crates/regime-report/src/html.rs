//! A self-contained HTML page: title, sections of paragraphs, key-figure
//! tables, data tables and inline SVG. No scripts, fonts or external assets,
//! so a report opens offline and can be attached to an issue as one file.

use std::io::Write;

use crate::error::Result;

/// One block of content in a [`Section`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Block {
    /// A paragraph of plain text (escaped).
    Paragraph(String),
    /// Label/value pairs shown as a compact two-column table.
    KeyFigures(Vec<(String, String)>),
    /// A data table with a header row; cells are plain text.
    Table {
        /// Column headers.
        headers: Vec<String>,
        /// Rows of cells.
        rows: Vec<Vec<String>>,
    },
    /// An inline SVG document (trusted markup from [`crate::chart`]).
    Svg(String),
    /// Several SVG charts side by side, wrapping on narrow screens.
    SvgRow(Vec<String>),
    /// Links (label, relative URL) on one line.
    Links(Vec<(String, String)>),
}

/// A titled part of a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Heading text.
    pub heading: String,
    /// Content, in order.
    pub blocks: Vec<Block>,
}

impl Section {
    /// An empty section.
    #[must_use]
    pub fn new(heading: impl Into<String>) -> Self {
        Self {
            heading: heading.into(),
            blocks: Vec::new(),
        }
    }

    /// Appends a block.
    #[must_use]
    pub fn with(mut self, block: Block) -> Self {
        self.blocks.push(block);
        self
    }
}

/// A report page.
#[derive(Debug, Clone, PartialEq)]
pub struct HtmlPage {
    title: String,
    subtitle: Option<String>,
    sections: Vec<Section>,
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#1b1f24;line-height:1.45}\
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}\
.sub{color:#57606a;margin-top:0}table{border-collapse:collapse;margin:.6rem 0;font-size:.85rem}\
td,th{border:1px solid #d0d7de;padding:.2rem .5rem;text-align:right}th{background:#f6f8fa}td:first-child,th:first-child{text-align:left}\
table.kf td:first-child{color:#57606a}.row{display:flex;flex-wrap:wrap;gap:1rem}.scroll{overflow-x:auto;max-height:32rem;overflow-y:auto}\
svg{max-width:100%;height:auto}figure{margin:0}";

impl HtmlPage {
    /// A page with a title and no sections.
    #[must_use]
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            subtitle: None,
            sections: Vec::new(),
        }
    }

    /// Sets the line under the title. Default: none.
    #[must_use]
    pub fn with_subtitle(mut self, subtitle: impl Into<String>) -> Self {
        self.subtitle = Some(subtitle.into());
        self
    }

    /// Appends a section.
    #[must_use]
    pub fn with_section(mut self, section: Section) -> Self {
        self.sections.push(section);
        self
    }

    /// Writes the page.
    ///
    /// # Errors
    /// [`crate::Error::Write`] when `out` fails.
    pub fn render(&self, out: &mut impl Write) -> Result<()> {
        writeln!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"
        )?;
        writeln!(
            out,
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        )?;
        writeln!(
            out,
            "<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>",
            escape(&self.title)
        )?;
        writeln!(out, "<h1>{}</h1>", escape(&self.title))?;
        if let Some(sub) = &self.subtitle {
            writeln!(out, "<p class=\"sub\">{}</p>", escape(sub))?;
        }
        for section in &self.sections {
            writeln!(out, "<section>\n<h2>{}</h2>", escape(&section.heading))?;
            for block in &section.blocks {
                render_block(out, block)?;
            }
            writeln!(out, "</section>")?;
        }
        writeln!(out, "</body>\n</html>")?;
        Ok(())
    }
}

fn render_block(out: &mut impl Write, block: &Block) -> Result<()> {
    match block {
        Block::Paragraph(text) => writeln!(out, "<p>{}</p>", escape(text))?,
        Block::KeyFigures(pairs) => {
            writeln!(out, "<table class=\"kf\">")?;
            for (k, v) in pairs {
                writeln!(out, "<tr><td>{}</td><td>{}</td></tr>", escape(k), escape(v))?;
            }
            writeln!(out, "</table>")?;
        }
        Block::Table { headers, rows } => {
            writeln!(out, "<div class=\"scroll\"><table>\n<thead><tr>")?;
            for h in headers {
                write!(out, "<th>{}</th>", escape(h))?;
            }
            writeln!(out, "</tr></thead>\n<tbody>")?;
            for row in rows {
                write!(out, "<tr>")?;
                for cell in row {
                    write!(out, "<td>{}</td>", escape(cell))?;
                }
                writeln!(out, "</tr>")?;
            }
            writeln!(out, "</tbody></table></div>")?;
        }
        Block::Svg(svg) => writeln!(out, "<figure>{svg}</figure>")?,
        Block::Links(links) => {
            let items: Vec<String> = links
                .iter()
                .map(|(label, href)| format!("<a href=\"{}\">{}</a>", escape(href), escape(label)))
                .collect();
            writeln!(out, "<p>{}</p>", items.join(" · "))?;
        }
        Block::SvgRow(svgs) => {
            writeln!(out, "<div class=\"row\">")?;
            for svg in svgs {
                writeln!(out, "<figure>{svg}</figure>")?;
            }
            writeln!(out, "</div>")?;
        }
    }
    Ok(())
}

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attributes.
#[must_use]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_is_self_contained_and_escaped() {
        let page = HtmlPage::new("a <b> & c")
            .with_subtitle("sub")
            .with_section(
                Section::new("S").with(Block::KeyFigures(vec![("k".into(), "<v>".into())])),
            );
        let mut out = Vec::new();
        page.render(&mut out).expect("render");
        let html = String::from_utf8(out).expect("utf8");
        assert!(html.contains("<title>a &lt;b&gt; &amp; c</title>"));
        assert!(html.contains("&lt;v&gt;"));
        assert!(!html.contains("src=") && !html.contains("href=") && !html.contains("<script"));
    }
}
