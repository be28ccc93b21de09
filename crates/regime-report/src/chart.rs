//! SVG chart primitives: a histogram with vertical marker lines, a
//! multi-series line chart with optional log axes, and a bar chart.
//!
//! Charts take already computed values (bins, points) and return an SVG
//! string with fixed-precision coordinates, so the same input always gives
//! the same bytes. Hand-written rather than drawn with `plotters`: the three
//! chart kinds need ~300 lines, no font or backend dependency, and the output
//! is byte-stable across platforms.
#![expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::many_single_char_names,
    clippy::too_many_lines,
    reason = "pixel geometry: small counts, log10 exponents of finite values, x/y/a/b/w coordinates"
)]

use std::fmt::Write as _;

use crate::html::escape;

/// Chart width in SVG user units.
pub const WIDTH: f64 = 520.0;
/// Chart height in SVG user units.
pub const HEIGHT: f64 = 300.0;
const LEFT: f64 = 58.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 44.0;

/// Colour-blind-safe series colours (Okabe–Ito).
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
];

/// A vertical line across a chart, e.g. α = 2.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// Position on the x axis.
    pub x: f64,
    /// Label drawn at the top of the line.
    pub label: String,
}

/// A histogram of pre-binned counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Title above the plot.
    pub title: String,
    /// X-axis label.
    pub x_label: String,
    /// Y-axis label: what the bars count ("matrices", "samples").
    pub y_label: String,
    /// Bin edges (`counts.len() + 1` values, increasing).
    pub edges: Vec<f64>,
    /// Count per bin.
    pub counts: Vec<usize>,
    /// Vertical lines.
    pub markers: Vec<Marker>,
    /// Draw every bin equally wide, its edges labelled: for geometric
    /// bins (powers of two), which a linear axis would crush into the
    /// first pixels but for the widest.
    pub equal_bins: bool,
}

/// One line of a [`LineChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// Points in drawing order; non-finite values break the line.
    pub points: Vec<(f64, f64)>,
}

/// Several series on shared axes.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    /// Title above the plot.
    pub title: String,
    /// X-axis label.
    pub x_label: String,
    /// Y-axis label.
    pub y_label: String,
    /// The lines.
    pub series: Vec<Series>,
    /// Logarithmic x axis (non-positive x are dropped).
    pub log_x: bool,
    /// Logarithmic y axis (non-positive y are dropped).
    pub log_y: bool,
    /// Horizontal reference lines (y value, label).
    pub hlines: Vec<(f64, String)>,
    /// Vertical lines, e.g. a threshold.
    pub markers: Vec<Marker>,
}

/// Labelled bars.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// Title above the plot.
    pub title: String,
    /// Y-axis label.
    pub y_label: String,
    /// One (label, value) per bar.
    pub bars: Vec<(String, f64)>,
}

struct Frame {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
    log_x: bool,
    log_y: bool,
    /// The y values are counts: ticks at whole numbers only.
    count_y: bool,
}

impl Frame {
    fn px(&self, x: f64) -> f64 {
        let (x, a, b) = if self.log_x {
            (x.log10(), self.x0.log10(), self.x1.log10())
        } else {
            (x, self.x0, self.x1)
        };
        LEFT + (x - a) / (b - a) * (WIDTH - LEFT - RIGHT)
    }
    fn py(&self, y: f64) -> f64 {
        let (y, a, b) = if self.log_y {
            (y.log10(), self.y0.log10(), self.y1.log10())
        } else {
            (y, self.y0, self.y1)
        };
        HEIGHT - BOTTOM - (y - a) / (b - a) * (HEIGHT - TOP - BOTTOM)
    }
}

fn open(svg: &mut String, title: &str) {
    open_sized(svg, title, HEIGHT);
}

fn open_sized(svg: &mut String, title: &str, height: f64) {
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\" \
         font-family=\"system-ui,sans-serif\" font-size=\"11\" role=\"img\"><title>{t}</title>\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\
         <text x=\"{cx:.1}\" y=\"18\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"600\">{t}</text>",
        t = escape(title),
        cx = WIDTH / 2.0,
    );
}

/// "Nice" tick values covering [lo, hi] (1, 2, 5 × 10^k steps).
#[must_use]
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil();
    let last = (hi / step).floor();
    let mut ticks = Vec::new();
    let mut k = first;
    while k <= last + 1e-9 {
        ticks.push(k * step);
        k += 1.0;
    }
    ticks
}

/// Formats a tick value compactly (no trailing zeros, scientific when extreme).
#[must_use]
pub fn fmt_tick(v: f64) -> String {
    if v == 0.0 {
        return "0".to_owned();
    }
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        // Three significant digits, so 100000 and 120000 read apart.
        let s = format!("{v:.2e}");
        let (mantissa, exponent) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        return format!("{mantissa}e{exponent}");
    }
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_owned()
}

/// A bin edge: whole numbers in full (`131072`, not `1.31e5`), others as
/// [`fmt_tick`].
fn fmt_edge(v: f64) -> String {
    if is_whole(v) {
        format!("{}", v as i64)
    } else {
        fmt_tick(v)
    }
}

/// A bin edge as an axis label: multiples of 1024 as `k` (`2k`, `128k`,
/// as context lengths are said), of 1024² as `M`; others as [`fmt_edge`].
fn fmt_edge_short(v: f64) -> String {
    const K: f64 = 1024.0;
    if v >= K * K && v % (K * K) == 0.0 {
        format!("{}M", fmt_edge(v / (K * K)))
    } else if v >= K && v % K == 0.0 {
        format!("{}k", fmt_edge(v / K))
    } else {
        fmt_edge(v)
    }
}

/// Draws the axes of `f`, with x ticks at `x_ticks` (position, label)
/// when given, else at nice values of the frame's range.
fn axes(
    svg: &mut String,
    f: &Frame,
    x_ticks: Option<&[(f64, String)]>,
    x_label: &str,
    y_label: &str,
) {
    let (l, r, t, b) = (LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM);
    let yt: Vec<f64> = if f.log_y {
        log_ticks(f.y0, f.y1)
    } else {
        let mut ticks = nice_ticks(f.y0, f.y1, 5);
        // Half a sample is no count.
        ticks.retain(|y| !f.count_y || is_whole(*y));
        ticks
    };
    for y in yt {
        let py = f.py(y);
        let _ = write!(
            svg,
            "<line x1=\"{l:.1}\" x2=\"{r:.1}\" y1=\"{py:.1}\" y2=\"{py:.1}\" stroke=\"#eaeef2\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#57606a\">{}</text>",
            l - 4.0,
            py + 3.5,
            fmt_tick(y)
        );
    }
    let xt: Vec<(f64, String)> = match x_ticks {
        Some(ticks) => ticks.to_vec(),
        None if f.log_x => log_ticks(f.x0, f.x1)
            .into_iter()
            .map(|x| (x, fmt_tick(x)))
            .collect(),
        None => nice_ticks(f.x0, f.x1, 8)
            .into_iter()
            .map(|x| (x, fmt_tick(x)))
            .collect(),
    };
    for (x, label) in xt {
        let px = f.px(x);
        let _ = write!(
            svg,
            "<line x1=\"{px:.1}\" x2=\"{px:.1}\" y1=\"{b:.1}\" y2=\"{:.1}\" stroke=\"#57606a\"/>\
             <text x=\"{px:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#57606a\">{}</text>",
            b + 4.0,
            b + 15.0,
            escape(&label)
        );
    }
    let _ = write!(
        svg,
        "<path d=\"M{l:.1} {t:.1}V{b:.1}H{r:.1}\" fill=\"none\" stroke=\"#57606a\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\
         <text transform=\"translate(14 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        f64::midpoint(l, r),
        HEIGHT - 8.0,
        escape(x_label),
        f64::midpoint(t, b),
        escape(y_label)
    );
}

fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    log_ticks_with(lo, hi, log_mantissas(lo, hi))
}

/// The tick mantissas of a log axis over `[lo, hi]`: powers of ten; a range
/// of less than about two decades also gets the 2s and 5s, and one within a
/// decade every whole mantissa, so an axis never ends up with a single label.
fn log_mantissas(lo: f64, hi: f64) -> &'static [f64] {
    const STEPS: [&[f64]; 2] = [&[1.0], &[1.0, 2.0, 5.0]];
    STEPS
        .into_iter()
        .find(|m| log_ticks_with(lo, hi, m).len() >= 3)
        .unwrap_or(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
}

/// `[lo, hi]` (both > 0) widened to the nearest ticks at or outside it.
/// A wider span may call for coarser ticks (powers of ten only), so it is
/// widened again until its ends are ticks of its own.
fn log_span(lo: f64, hi: f64) -> (f64, f64) {
    let mut mantissas = log_mantissas(lo, hi);
    loop {
        let span = (
            log_tick_beyond(lo, mantissas, false),
            log_tick_beyond(hi, mantissas, true),
        );
        let coarser = log_mantissas(span.0, span.1);
        if coarser.len() == mantissas.len() {
            return span;
        }
        mantissas = coarser;
    }
}

/// The nearest `m × 10^k` at or below `v` (`above`: at or above it);
/// `10^⌊log v⌋` and `10^(⌊log v⌋+1)` are among the candidates.
fn log_tick_beyond(v: f64, mantissas: &[f64], above: bool) -> f64 {
    let k = v.log10().floor() as i32;
    let candidates = (k - 1..=k + 1).flat_map(|k| mantissas.iter().map(move |m| m * 10f64.powi(k)));
    if above {
        candidates
            .filter(|t| *t >= v * (1.0 - 1e-9))
            .fold(f64::INFINITY, f64::min)
    } else {
        candidates
            .filter(|t| *t <= v * (1.0 + 1e-9))
            .fold(f64::NEG_INFINITY, f64::max)
    }
}

/// The values `m × 10^k` within `[lo, hi]` for each mantissa `m`, ascending.
fn log_ticks_with(lo: f64, hi: f64, mantissas: &[f64]) -> Vec<f64> {
    let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    (a..=b)
        .flat_map(|k| mantissas.iter().map(move |m| m * 10f64.powi(k)))
        .filter(|v| *v >= lo * (1.0 - 1e-9) && *v <= hi * (1.0 + 1e-9))
        .collect()
}

impl Histogram {
    /// Where value `x` lies on the plot's x axis: `x` itself, or with
    /// [`Self::equal_bins`] its bin's index plus its fraction of the bin.
    fn position(&self, x: f64) -> f64 {
        if !self.equal_bins {
            return x;
        }
        let last = self.edges.len().saturating_sub(1);
        let bin = self.edges[..last].partition_point(|&e| e <= x);
        match bin.checked_sub(1) {
            // Left of the first edge, or past the last.
            None => 0.0,
            Some(_) if x >= self.edges[last] => last as f64,
            Some(i) => i as f64 + (x - self.edges[i]) / (self.edges[i + 1] - self.edges[i]),
        }
    }

    /// Renders the chart.
    #[must_use]
    pub fn to_svg(&self) -> String {
        let mut svg = String::new();
        open(&mut svg, &self.title);
        let x0 = self.position(self.edges.first().copied().unwrap_or(0.0));
        let x1 = self
            .position(self.edges.last().copied().unwrap_or(1.0))
            .max(x0 + 1.0);
        let top = self.counts.iter().copied().max().unwrap_or(0).max(1) as f64;
        let f = Frame {
            x0,
            x1,
            y0: 0.0,
            y1: top * 1.1,
            log_x: false,
            log_y: false,
            count_y: true,
        };
        // Equal bins: their edges, at most 9 labelled.
        let edge_ticks: Option<Vec<(f64, String)>> = self.equal_bins.then(|| {
            let every = self.edges.len().div_ceil(9).max(1);
            (0..self.edges.len())
                .step_by(every)
                .map(|i| (i as f64, fmt_edge_short(self.edges[i])))
                .collect()
        });
        axes(
            &mut svg,
            &f,
            edge_ticks.as_deref(),
            &self.x_label,
            &self.y_label,
        );
        for (i, &c) in self.counts.iter().enumerate() {
            if c == 0 {
                continue;
            }
            let (a, b) = (
                f.px(self.position(self.edges[i])),
                f.px(self.position(self.edges[i + 1])),
            );
            let y = f.py(c as f64);
            let _ = write!(
                svg,
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\" fill-opacity=\"0.8\"><title>[{}, {}): {c}</title></rect>",
                a + 0.5,
                (b - a - 1.0).max(0.5),
                f.py(0.0) - y,
                PALETTE[0],
                fmt_edge(self.edges[i]),
                fmt_edge(self.edges[i + 1]),
            );
        }
        for m in &self.markers {
            let x = self.position(m.x);
            if (x0..=x1).contains(&x) {
                draw_marker(&mut svg, f.px(x), &m.label);
            }
        }
        svg.push_str("</svg>");
        svg
    }
}

impl LineChart {
    /// Renders the chart; an empty chart says "no data".
    #[must_use]
    pub fn to_svg(&self) -> String {
        let mut svg = String::new();
        let (layout, rows) = legend_layout(self.series.iter().map(|s| s.name.as_str()));
        open_sized(&mut svg, &self.title, HEIGHT + 13.0 * rows as f64);
        let keep = |&(x, y): &(f64, f64)| {
            x.is_finite() && y.is_finite() && (!self.log_x || x > 0.0) && (!self.log_y || y > 0.0)
        };
        let pts: Vec<(f64, f64)> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .filter(keep)
            .collect();
        if pts.is_empty() {
            no_data(&mut svg);
            return svg;
        }
        let (mut x0, mut x1, mut y0, mut y1) = bounds(&pts, &self.hlines, &self.markers);
        if x1 <= x0 {
            (x0, x1) = if self.log_x {
                (x0 / 2.0, x1 * 2.0)
            } else {
                (x0 - 0.5, x1 + 0.5)
            };
        }
        if y1 <= y0 {
            (y0, y1) = if self.log_y {
                (y0 / 2.0, y1 * 2.0)
            } else {
                (y0 - 0.5, y1 + 0.5)
            };
        } else if !self.log_y {
            let pad = (y1 - y0) * 0.05;
            (y0, y1) = (y0 - pad, y1 + pad);
        }
        // A log axis ends on ticks, so its extreme points lie within labels.
        if self.log_x {
            (x0, x1) = log_span(x0, x1);
        }
        if self.log_y {
            (y0, y1) = log_span(y0, y1);
        }
        let f = Frame {
            x0,
            x1,
            y0,
            y1,
            log_x: self.log_x,
            log_y: self.log_y,
            count_y: false,
        };
        axes(&mut svg, &f, None, &self.x_label, &self.y_label);
        for (y, label) in &self.hlines {
            if *y < y0 || *y > y1 {
                continue;
            }
            let py = f.py(*y);
            let _ = write!(
                svg,
                "<line x1=\"{LEFT:.1}\" x2=\"{:.1}\" y1=\"{py:.1}\" y2=\"{py:.1}\" stroke=\"{}\" stroke-dasharray=\"5 3\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"{}\">{}</text>",
                WIDTH - RIGHT,
                PALETTE[3],
                WIDTH - RIGHT - 2.0,
                py - 3.0,
                PALETTE[3],
                escape(label)
            );
        }
        let shown = |m: &&Marker| (x0..=x1).contains(&m.x) && (!self.log_x || m.x > 0.0);
        for m in self.markers.iter().filter(shown) {
            draw_marker(&mut svg, f.px(m.x), &m.label);
        }
        for (k, s) in self.series.iter().enumerate() {
            let colour = PALETTE[k % PALETTE.len()];
            let mut d = String::new();
            let mut pen_up = true;
            for p in &s.points {
                if keep(p) {
                    let _ = write!(
                        d,
                        "{}{:.1} {:.1}",
                        if pen_up { "M" } else { "L" },
                        f.px(p.0),
                        f.py(p.1)
                    );
                    pen_up = false;
                } else {
                    pen_up = true;
                }
            }
            let _ = write!(
                svg,
                "<path d=\"{d}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.6\"/>"
            );
            for p in s.points.iter().filter(|p| keep(p)) {
                let _ = write!(
                    svg,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.4\" fill=\"{colour}\"><title>{}: ({}, {})</title></circle>",
                    f.px(p.0),
                    f.py(p.1),
                    escape(&s.name),
                    fmt_tick(p.0),
                    fmt_value(p.1)
                );
            }
        }
        legend(&mut svg, &layout);
        svg.push_str("</svg>");
        svg
    }
}

fn bounds(
    pts: &[(f64, f64)],
    hlines: &[(f64, String)],
    markers: &[Marker],
) -> (f64, f64, f64, f64) {
    let mut b = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for &(x, y) in pts {
        b = (b.0.min(x), b.1.max(x), b.2.min(y), b.3.max(y));
    }
    for (y, _) in hlines {
        b = (b.0, b.1, b.2.min(*y), b.3.max(*y));
    }
    for x in markers.iter().map(|m| m.x).filter(|x| x.is_finite()) {
        b = (b.0.min(x), b.1.max(x), b.2, b.3);
    }
    b
}

/// Lays legend entries out in rows below the plot: (x, row) per entry.
fn legend_layout<'a>(names: impl Iterator<Item = &'a str>) -> (Vec<(f64, usize, &'a str)>, usize) {
    let mut out = Vec::new();
    let (mut x, mut row) = (LEFT, 0);
    for name in names {
        let w = 20.0 + 5.8 * name.chars().count() as f64;
        if x + w > WIDTH - RIGHT && x > LEFT {
            x = LEFT;
            row += 1;
        }
        out.push((x, row, name));
        x += w;
    }
    let rows = if out.is_empty() { 0 } else { row + 1 };
    (out, rows)
}

fn legend(svg: &mut String, layout: &[(f64, usize, &str)]) {
    for (k, (x, row, name)) in layout.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        let y = HEIGHT + 4.0 + 13.0 * *row as f64;
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"10\" height=\"3\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{y:.1}\" font-size=\"10\">{}</text>",
            y - 4.0,
            x + 13.0,
            escape(name)
        );
    }
}

/// A dashed vertical line at `px` from the top of the plot to its x axis,
/// labelled at the top.
fn draw_marker(svg: &mut String, px: f64, label: &str) {
    let _ = write!(
        svg,
        "<line x1=\"{px:.1}\" x2=\"{px:.1}\" y1=\"{TOP:.1}\" y2=\"{:.1}\" stroke=\"{}\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" fill=\"{}\">{}</text>",
        HEIGHT - BOTTOM,
        PALETTE[3],
        px + 3.0,
        TOP + 10.0,
        PALETTE[3],
        escape(label)
    );
}

/// Ends a chart that has nothing to draw with a centred "no data".
fn no_data(svg: &mut String) {
    let _ = write!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">no data</text></svg>",
        WIDTH / 2.0,
        HEIGHT / 2.0
    );
}

/// Formats a data value with 4 significant digits.
#[must_use]
pub fn fmt_value(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if (1e-3..1e5).contains(&a) {
        let decimals = (3 - a.log10().floor() as i32).clamp(0, 6) as usize;
        format!("{v:.decimals$}")
    } else {
        format!("{v:.3e}")
    }
}

/// Whether `v` is a whole number that prints exactly without decimals.
fn is_whole(v: f64) -> bool {
    v.fract() == 0.0 && v.abs() < 1e15
}

/// Approximate advance of one character of a bar label (12 px sans-serif),
/// and of a value above a bar (10 px).
const LABEL_CHAR_PX: f64 = 6.6;
const VALUE_CHAR_PX: f64 = 5.6;

/// Characters of an upright bar label before it is cut.
const ROTATED_LABEL_CHARS: usize = 28;

/// Whether `text` fits in `width` pixels at `char_px` per character.
fn fits(text: &str, width: f64, char_px: f64) -> bool {
    #[expect(clippy::cast_precision_loss, reason = "label lengths are small")]
    let chars = text.chars().count() as f64;
    chars * char_px <= width
}

/// `text`, or its start and end around "…" when it is wider than `width`
/// pixels (labels of one corpus often share a prefix and differ at the
/// end: `source_name_07`); nothing when not even one character and the
/// ellipsis fit.
fn cut_to_fit(text: &str, width: f64, char_px: f64) -> String {
    if fits(text, width, char_px) {
        return text.to_owned();
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a small non-negative character count"
    )]
    let room = (width / char_px).floor().max(0.0) as usize;
    if room < 2 {
        return String::new();
    }
    let chars: Vec<char> = text.chars().collect();
    let head = room / 2;
    let tail = room - 1 - head;
    let mut cut: String = chars[..head].iter().collect();
    cut.push('…');
    cut.extend(&chars[chars.len() - tail..]);
    cut
}

impl BarChart {
    /// Renders the chart; a chart without bars says "no data".
    #[must_use]
    pub fn to_svg(&self) -> String {
        let mut svg = String::new();
        if self.bars.is_empty() {
            open(&mut svg, &self.title);
            no_data(&mut svg);
            return svg;
        }
        // Labels wider than a bar's slot (40 bars leave about 12 px each)
        // are drawn upright, bottom to top, in a margin grown to the
        // longest (cut in the middle past ROTATED_LABEL_CHARS); the bar's tooltip
        // keeps them whole.
        let slot = (WIDTH - LEFT - RIGHT) / self.bars.len() as f64;
        let rotated = !self.bars.iter().all(|b| fits(&b.0, slot, LABEL_CHAR_PX));
        let label_px = |label: &str| {
            let chars = label.chars().count().min(ROTATED_LABEL_CHARS);
            chars as f64 * LABEL_CHAR_PX
        };
        let longest = self.bars.iter().map(|b| label_px(&b.0)).fold(0.0, f64::max);
        let height = if rotated {
            (HEIGHT + (longest + 12.0 - BOTTOM).max(0.0)).ceil()
        } else {
            HEIGHT
        };
        open_sized(&mut svg, &self.title, height);
        // Counts print as counts ("168", not "168.0"); a chart with any
        // fractional value prints every value alike.
        let whole = self.bars.iter().all(|b| is_whole(b.1));
        let top = self.bars.iter().map(|b| b.1).fold(0.0, f64::max).max(1e-12);
        let f = Frame {
            x0: 0.0,
            x1: self.bars.len().max(1) as f64,
            y0: 0.0,
            y1: top * 1.12,
            log_x: false,
            log_y: false,
            count_y: whole,
        };
        let value_text = |v: f64| {
            if whole {
                format!("{v:.0}")
            } else {
                fmt_value(v)
            }
        };
        let yt = nice_ticks(0.0, f.y1, 5);
        for y in yt {
            let py = f.py(y);
            let _ = write!(
                svg,
                "<line x1=\"{LEFT:.1}\" x2=\"{:.1}\" y1=\"{py:.1}\" y2=\"{py:.1}\" stroke=\"#eaeef2\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#57606a\">{}</text>",
                WIDTH - RIGHT,
                LEFT - 4.0,
                py + 3.5,
                fmt_tick(y)
            );
        }
        // Values wider than a slot would run into their neighbours': then
        // none is printed (the tooltips hold them).
        let values_fit = self
            .bars
            .iter()
            .all(|b| fits(&value_text(b.1), slot, VALUE_CHAR_PX));
        for (i, (label, v)) in self.bars.iter().enumerate() {
            let (a, b) = (f.px(i as f64), f.px(i as f64 + 1.0));
            let w = (b - a) * 0.7;
            let y = f.py(*v);
            let shown_label = if rotated {
                cut_to_fit(label, label_px(label) + 0.5, LABEL_CHAR_PX)
            } else {
                label.clone()
            };
            let label_at = if rotated {
                format!(
                    "transform=\"translate({:.1} {:.1}) rotate(-90)\" text-anchor=\"end\"",
                    f64::midpoint(a, b) + 4.0,
                    HEIGHT - BOTTOM + 6.0
                )
            } else {
                format!(
                    "x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\"",
                    f64::midpoint(a, b),
                    HEIGHT - BOTTOM + 15.0
                )
            };
            let shown_value = if values_fit {
                value_text(*v)
            } else {
                String::new()
            };
            let _ = write!(
                svg,
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}: {}</title></rect>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\">{}</text>\
                 <text {label_at} fill=\"#57606a\">{}</text>",
                a + (b - a) * 0.15,
                f.py(0.0) - y,
                PALETTE[i % PALETTE.len()],
                escape(label),
                value_text(*v),
                f64::midpoint(a, b),
                y - 3.0,
                shown_value,
                escape(&shown_label)
            );
        }
        let _ = write!(
            svg,
            "<path d=\"M{LEFT:.1} {TOP:.1}V{:.1}H{:.1}\" fill=\"none\" stroke=\"#57606a\"/><text transform=\"translate(14 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text></svg>",
            HEIGHT - BOTTOM,
            WIDTH - RIGHT,
            f64::midpoint(TOP, HEIGHT - BOTTOM),
            escape(&self.y_label)
        );
        svg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_labels_stand_upright_and_stay_whole_in_the_tooltip() {
        assert_eq!(cut_to_fit("abc", 100.0, 6.6), "abc");
        assert_eq!(cut_to_fit("abcdefghij", 33.0, 6.6), "ab…ij");
        assert_eq!(cut_to_fit("abcdefghij", 20.0, 6.6), "a…j");
        assert_eq!(cut_to_fit("abcdefghij", 10.0, 6.6), "");
        let long = |i: usize| format!("very_long_dataset_source_name_{i:02}");
        let chart = BarChart {
            title: "t".into(),
            y_label: "samples".into(),
            bars: (0..40).map(|i| (long(i), 1_000_000.0 + i as f64)).collect(),
        };
        let svg = chart.to_svg();
        assert!(svg.contains(&format!("<title>{}: 1000007</title>", long(7))));
        // Too wide for their slots, the labels stand upright in a taller
        // chart (28 characters of 6.6 px, less the usual margin), cut in
        // the middle to 28 characters; no value runs over its neighbours.
        assert!(
            svg.contains(
                "rotate(-90)\" text-anchor=\"end\" fill=\"#57606a\">very_long_data…ource_name_07</text>"
            ),
            "{svg}"
        );
        assert!(svg.contains("height=\"453\""), "{svg}");
        assert!(!svg.contains(">1000007</text>"), "{svg}");
        // Few short bars keep their labels and values.
        let chart = BarChart {
            title: "t".into(),
            y_label: "samples".into(),
            bars: vec![("a".into(), 3.0), ("b".into(), 5.0)],
        };
        let svg = chart.to_svg();
        assert!(
            svg.contains(">a</text>") && svg.contains(">5</text>"),
            "{svg}"
        );
        assert!(!svg.contains("rotate(-90)\" text-anchor=\"end\""), "{svg}");
    }

    #[test]
    fn nice_ticks_cover_the_range() {
        assert_eq!(
            nice_ticks(0.0, 10.0, 5),
            vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        );
        assert_eq!(fmt_tick(0.5), "0.5");
        assert_eq!(fmt_tick(2.0), "2");
    }

    #[test]
    fn histogram_draws_markers_and_is_deterministic() {
        let h = Histogram {
            title: "α".into(),
            x_label: "alpha".into(),
            y_label: "matrices".into(),
            edges: vec![0.0, 1.0, 2.0, 3.0],
            counts: vec![1, 0, 4],
            markers: vec![Marker {
                x: 2.0,
                label: "α = 2".into(),
            }],
            equal_bins: false,
        };
        let a = h.to_svg();
        assert_eq!(a, h.to_svg());
        assert!(a.contains("α = 2"));
        assert_eq!(a.matches("<rect x=").count(), 2);
    }

    /// Power-of-two bins drawn equally wide: each bin as wide as the
    /// next, edges labelled in full.
    #[test]
    fn equal_bins_are_equally_wide() {
        let h = Histogram {
            title: "tokens".into(),
            x_label: "tokens".into(),
            y_label: "samples".into(),
            edges: vec![0.0, 1.0, 2.0, 4.0, 8.0, 131_072.0],
            counts: vec![1, 2, 3, 4, 5],
            markers: vec![],
            equal_bins: true,
        };
        let svg = h.to_svg();
        let widths: Vec<&str> = svg
            .split("<rect x=")
            .skip(1)
            .map(|r| {
                r.split("width=\"")
                    .nth(1)
                    .and_then(|w| w.split('"').next())
                    .unwrap()
            })
            .collect();
        assert_eq!(widths.len(), 5);
        assert!(widths.iter().all(|w| *w == widths[0]), "{widths:?}");
        assert!(svg.contains("<title>[8, 131072): 5</title>"), "{svg}");
        assert!(svg.contains(">128k</text>"), "{svg}");
        assert_eq!(fmt_edge_short(2048.0), "2k");
        assert_eq!(fmt_edge_short(3_145_728.0), "3M");
        assert_eq!(fmt_edge_short(1000.0), "1000");
        for (x, at) in [(3.0, 2.5), (131_072.0, 5.0), (-1.0, 0.0)] {
            assert!(
                (h.position(x) - at).abs() < 1e-12,
                "{x} at {}",
                h.position(x)
            );
        }
    }

    #[test]
    fn large_ticks_keep_three_significant_digits() {
        assert_eq!(fmt_tick(100_000.0), "1e5");
        assert_eq!(fmt_tick(120_000.0), "1.2e5");
        assert_eq!(fmt_tick(131_072.0), "1.31e5");
        assert_eq!(fmt_tick(0.000_25), "2.5e-4");
        assert_eq!(fmt_tick(f64::INFINITY), "inf");
        assert_eq!(fmt_tick(f64::NAN), "NaN");
    }

    #[test]
    fn line_chart_handles_log_axes_and_gaps() {
        let c = LineChart {
            title: "t".into(),
            x_label: "layer".into(),
            y_label: "y".into(),
            series: vec![Series {
                name: "s".into(),
                points: vec![(0.0, 1.0), (1.0, f64::NAN), (2.0, 100.0)],
            }],
            log_x: false,
            log_y: true,
            hlines: vec![],
            markers: vec![],
        };
        let svg = c.to_svg();
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains(">100<"));
        let empty = LineChart {
            series: vec![],
            ..c
        };
        assert!(empty.to_svg().contains("no data"));
    }

    #[test]
    fn log_axes_end_on_ticks() {
        // Two decades and more: powers of ten (150…40000 first takes 100…50000,
        // which labels powers of ten only, so it widens to 100000).
        assert_eq!(log_span(150.0, 40_000.0), (100.0, 100_000.0));
        assert_eq!(log_span(700.0, 40_000.0), (500.0, 50_000.0));
        assert_eq!(log_span(1.0, 1000.0), (1.0, 1000.0));
        // Less: the 2s and 5s.
        assert_eq!(log_span(1.0, 46.0), (1.0, 50.0));
        assert_eq!(log_span(3.0, 45.0), (2.0, 50.0));
        // Within a decade: whole mantissas.
        assert_eq!(log_span(3.5, 7.5), (3.0, 8.0));
        let (lo, hi) = log_span(700.0, 40_000.0);
        let ticks = log_ticks(lo, hi);
        assert_eq!(ticks.first(), Some(&lo));
        assert_eq!(ticks.last(), Some(&hi));
    }

    #[test]
    fn count_axes_tick_whole_numbers() {
        let h = Histogram {
            title: "t".into(),
            x_label: "x".into(),
            y_label: "samples".into(),
            edges: vec![0.0, 1.0, 2.0],
            counts: vec![1, 2],
            markers: Vec::new(),
            equal_bins: false,
        };
        let svg = h.to_svg();
        // y labels are the end-anchored ones.
        let y_label = |v: &str| format!("text-anchor=\"end\" fill=\"#57606a\">{v}</text>");
        assert!(svg.contains(&y_label("2")), "{svg}");
        assert!(!svg.contains(&y_label("0.5")), "{svg}");
        assert!(!svg.contains(&y_label("1.5")), "{svg}");
    }

    #[test]
    fn log_ticks_label_short_ranges() {
        assert_eq!(log_ticks(1.0, 1e4), vec![1.0, 10.0, 100.0, 1000.0, 1e4]);
        assert_eq!(log_ticks(3.0, 25.0), vec![5.0, 10.0, 20.0]);
        assert_eq!(log_ticks(3.0, 7.5), vec![3.0, 4.0, 5.0, 6.0, 7.0]);
        assert_eq!(log_ticks(0.5, 30.0), vec![0.5, 1.0, 2.0, 5.0, 10.0, 20.0]);
    }

    #[test]
    fn empty_bar_chart_says_no_data() {
        let b = BarChart {
            title: "clusters".into(),
            y_label: "n".into(),
            bars: vec![],
        };
        let svg = b.to_svg();
        assert!(svg.contains(">no data<"));
        assert!(!svg.contains("e-1"), "no ticks of an empty axis: {svg}");
    }

    #[test]
    fn bar_chart_labels_bars() {
        let b = BarChart {
            title: "share".into(),
            y_label: "%".into(),
            bars: vec![("A".into(), 80.0), ("B".into(), 60.0)],
        };
        let svg = b.to_svg();
        assert!(svg.contains(">A<") && svg.contains(">80<") && svg.contains(">60<"));
        let b = BarChart {
            bars: vec![("A".into(), 80.0), ("B".into(), 62.5)],
            ..b
        };
        let svg = b.to_svg();
        assert!(svg.contains(">80.00<") && svg.contains(">62.50<"));
    }
}
