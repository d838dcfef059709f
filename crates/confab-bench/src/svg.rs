//! Plots as plain SVG text, drawn by hand: a latency percentile plot (HdrHistogram style, the x
//! axis stretched as 1/(1-p) so that the tail gets the room) and throughput and p99 latency
//! against offered load for sweeps. A plotting crate would be most of the bench's dependencies.

use std::fmt::Write as _;

const COLORS: [&str; 6] = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];
const FONT: &str = "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\"";

/// A named line of `(x, y)` points, in data units.
#[derive(Clone, Debug)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// How data maps onto one axis of a panel.
#[derive(Clone, Debug)]
struct Axis {
    min: f64,
    max: f64,
    log: bool,
    ticks: Vec<(f64, String)>,
    label: String,
}

impl Axis {
    /// 0 … a round maximum, about five ticks, labelled by `format`.
    fn linear(max: f64, label: &str, format: impl Fn(f64) -> String) -> Axis {
        let step = nice_step(max.max(f64::MIN_POSITIVE) / 5.0);
        let top = (max / step).ceil().max(1.0) * step;
        let ticks = (0..=((top / step).round() as usize)).map(|i| i as f64 * step).map(|v| (v, format(v))).collect();
        Axis { min: 0.0, max: top, log: false, ticks, label: label.into() }
    }

    /// Decades from below `min` to above `max` (values must be positive).
    fn log10(min: f64, max: f64, label: &str, format: impl Fn(f64) -> String) -> Axis {
        let low = min.max(1e-9).log10().floor();
        let high = max.max(min * 10.0).log10().ceil().max(low + 1.0);
        let ticks = (low as i32..=high as i32).map(|e| 10f64.powi(e)).map(|v| (v, format(v))).collect();
        Axis { min: 10f64.powf(low), max: 10f64.powf(high), log: true, ticks, label: label.into() }
    }

    /// Position of `v` between 0 (min) and 1 (max).
    fn fraction(&self, v: f64) -> f64 {
        let f = if self.log {
            (v.max(self.min).log10() - self.min.log10()) / (self.max.log10() - self.min.log10())
        } else {
            (v - self.min) / (self.max - self.min)
        };
        if f.is_finite() { f.clamp(0.0, 1.0) } else { 0.0 }
    }
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * magnitude).find(|&s| s >= raw).unwrap_or(10.0 * magnitude)
}

/// The plotting area of one panel, in pixels.
#[derive(Clone, Copy)]
struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

struct Panel<'a> {
    rect: Rect,
    title: &'a str,
    x: Axis,
    y: Axis,
    series: &'a [Series],
    /// A dashed y = x line (offered load = achieved throughput).
    diagonal: bool,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn open(width: u32, height: u32, title: &str) -> String {
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" {FONT} font-size=\"12\">"
    );
    let _ = writeln!(svg, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"24\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">{}</text>",
        width / 2,
        escape(title)
    );
    svg
}

fn draw(svg: &mut String, panel: &Panel) {
    let Rect { x, y, w, h } = panel.rect;
    let px = |v: f64| x + panel.x.fraction(v) * w;
    let py = |v: f64| y + h - panel.y.fraction(v) * h;
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"13\">{}</text>",
        x + w / 2.0,
        y - 10.0,
        escape(panel.title)
    );
    let _ = writeln!(svg, "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" fill=\"none\" stroke=\"#444\"/>");
    for (value, label) in &panel.x.ticks {
        let tx = px(*value);
        let _ = writeln!(svg, "<line x1=\"{tx:.1}\" y1=\"{y}\" x2=\"{tx:.1}\" y2=\"{}\" stroke=\"#ddd\"/>", y + h);
        let _ =
            writeln!(svg, "<text x=\"{tx:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>", y + h + 16.0, escape(label));
    }
    for (value, label) in &panel.y.ticks {
        let ty = py(*value);
        let _ = writeln!(svg, "<line x1=\"{x}\" y1=\"{ty:.1}\" x2=\"{}\" y2=\"{ty:.1}\" stroke=\"#ddd\"/>", x + w);
        let _ =
            writeln!(svg, "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>", x - 6.0, ty + 4.0, escape(label));
    }
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
        x + w / 2.0,
        y + h + 36.0,
        escape(&panel.x.label)
    );
    let (lx, ly) = (x - 52.0, y + h / 2.0);
    let _ = writeln!(
        svg,
        "<text x=\"{lx}\" y=\"{ly}\" text-anchor=\"middle\" transform=\"rotate(-90 {lx} {ly})\">{}</text>",
        escape(&panel.y.label)
    );
    if panel.diagonal {
        let top = panel.x.max.min(panel.y.max);
        let _ = writeln!(
            svg,
            "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#999\" stroke-dasharray=\"5,4\"/>",
            px(0.0),
            py(0.0),
            px(top),
            py(top)
        );
    }
    for (i, series) in panel.series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let points: Vec<String> =
            series.points.iter().map(|&(vx, vy)| format!("{:.1},{:.1}", px(vx), py(vy))).collect();
        let _ = writeln!(
            svg,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
            points.join(" ")
        );
        if series.points.len() <= 20 {
            for &(vx, vy) in &series.points {
                let _ = writeln!(svg, "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{color}\"/>", px(vx), py(vy));
            }
        }
    }
    legend(svg, panel.rect, panel.series, panel.diagonal);
}

fn legend(svg: &mut String, rect: Rect, series: &[Series], diagonal: bool) {
    let mut entries: Vec<(String, &str, bool)> =
        series.iter().enumerate().map(|(i, s)| (s.label.clone(), COLORS[i % COLORS.len()], false)).collect();
    if diagonal {
        entries.push(("offered = achieved".into(), "#999", true));
    }
    let width = 30.0 + 7.0 * entries.iter().map(|e| e.0.chars().count()).max().unwrap_or(0) as f64;
    let (x, y) = (rect.x + 10.0, rect.y + 10.0);
    let _ = writeln!(
        svg,
        "<rect x=\"{x}\" y=\"{y}\" width=\"{width:.0}\" height=\"{}\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#bbb\"/>",
        8.0 + 18.0 * entries.len() as f64
    );
    for (i, (label, color, dashed)) in entries.iter().enumerate() {
        let ey = y + 16.0 + 18.0 * i as f64;
        let dash = if *dashed { " stroke-dasharray=\"5,4\"" } else { "" };
        let _ = writeln!(
            svg,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{color}\" stroke-width=\"2\"{dash}/>",
            x + 6.0,
            ey - 4.0,
            x + 22.0,
            ey - 4.0
        );
        let _ = writeln!(svg, "<text x=\"{}\" y=\"{ey}\">{}</text>", x + 28.0, escape(label));
    }
}

/// Milliseconds for an axis label: `0.25`, `3`, `1200`.
fn ms_label(ms: f64) -> String {
    if ms == 0.0 {
        "0".into()
    } else if ms < 1.0 {
        format!("{}", (ms * 1000.0).round() / 1000.0)
    } else if ms < 10.0 {
        format!("{}", (ms * 10.0).round() / 10.0)
    } else {
        format!("{}", ms.round())
    }
}

fn count_label(v: f64) -> String {
    if v >= 1000.0 { format!("{}k", v / 1000.0) } else { format!("{v}") }
}

/// Percentile `q` (0 ≤ q < 1) on the 1/(1-q) axis: 0 → 0, 90% → 1, 99% → 2, 99.9% → 3, …
fn nines(q: f64, cap: f64) -> f64 {
    if q >= 1.0 { cap } else { (1.0 / (1.0 - q)).log10().min(cap) }
}

/// The latency distribution of each series (points `(quantile, µs)`).
pub fn percentile_plot(title: &str, series: &[Series]) -> String {
    let max_nines = series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|p| p.0 < 1.0)
        .map(|p| nines(p.0, 6.0))
        .fold(2.0f64, f64::max)
        .ceil()
        .min(6.0);
    let converted: Vec<Series> = series
        .iter()
        .map(|s| Series {
            label: s.label.clone(),
            points: s.points.iter().map(|&(q, us)| (nines(q, max_nines), us / 1000.0)).collect(),
        })
        .collect();
    let max_ms = converted.iter().flat_map(|s| s.points.iter()).map(|p| p.1).fold(0.0, f64::max);
    let labels = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"];
    let x = Axis {
        min: 0.0,
        max: max_nines,
        log: false,
        ticks: (0..=max_nines as usize).map(|i| (i as f64, labels[i].to_string())).collect(),
        label: "percentile".into(),
    };
    let y = Axis::linear(max_ms, "latency (ms)", ms_label);
    let mut svg = open(820, 520, title);
    let rect = Rect { x: 80.0, y: 60.0, w: 700.0, h: 390.0 };
    draw(&mut svg, &Panel { rect, title: "", x, y, series: &converted, diagonal: false });
    svg.push_str("</svg>\n");
    svg
}

/// Two panels against offered load (msg/s): achieved throughput (with the ideal diagonal) and
/// p99 latency in ms on a log scale, since latency past saturation grows by orders of magnitude.
pub fn load_plot(title: &str, throughput: &[Series], p99_ms: &[Series]) -> String {
    let all = |s: &[Series]| s.iter().flat_map(|s| s.points.clone()).collect::<Vec<_>>();
    let (tp, lat) = (all(throughput), all(p99_ms));
    let max_offered = tp.iter().chain(&lat).map(|p| p.0).fold(1.0, f64::max);
    let max_tp = tp.iter().map(|p| p.1).fold(max_offered, f64::max);
    let positive = lat.iter().map(|p| p.1).filter(|v| *v > 0.0);
    let (min_ms, max_ms) = positive.fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (min_ms, max_ms) = if max_ms > 0.0 { (min_ms, max_ms) } else { (0.1, 1.0) };

    let mut svg = open(1100, 500, title);
    let left = Panel {
        rect: Rect { x: 80.0, y: 70.0, w: 430.0, h: 340.0 },
        title: "throughput",
        x: Axis::linear(max_offered, "offered load (msg/s)", count_label),
        y: Axis::linear(max_tp, "achieved (msg/s)", count_label),
        series: throughput,
        diagonal: true,
    };
    let right = Panel {
        rect: Rect { x: 630.0, y: 70.0, w: 430.0, h: 340.0 },
        title: "p99 delivery latency",
        x: Axis::linear(max_offered, "offered load (msg/s)", count_label),
        y: Axis::log10(min_ms, max_ms, "p99 latency (ms, log)", ms_label),
        series: p99_ms,
        diagonal: false,
    };
    draw(&mut svg, &left);
    draw(&mut svg, &right);
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn balanced(svg: &str, tag: &str) -> bool {
        svg.matches(&format!("<{tag}")).count() == svg.matches(&format!("</{tag}>")).count()
    }

    #[test]
    fn percentile_plots_are_well_formed_svg_with_axes_and_legend() {
        let series = vec![
            Series {
                label: "confab <delivery>".into(),
                points: vec![(0.0, 500.0), (0.9, 900.0), (0.999, 4000.0), (1.0, 9000.0)],
            },
            Series { label: "nats".into(), points: vec![(0.0, 100.0), (0.99, 300.0), (1.0, 800.0)] },
        ];
        let svg = percentile_plot("delivery latency", &series);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(balanced(&svg, "text") && balanced(&svg, "svg"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains(">99.9%<") && svg.contains(">latency (ms)<") && svg.contains(">percentile<"));
        assert!(svg.contains("confab &lt;delivery&gt;"), "labels are escaped");
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn load_plots_draw_both_panels_and_the_ideal_line() {
        let tp = vec![Series { label: "confab".into(), points: vec![(1000.0, 1000.0), (5000.0, 4100.0)] }];
        let p99 = vec![Series { label: "confab".into(), points: vec![(1000.0, 2.5), (5000.0, 1800.0)] }];
        let svg = load_plot("direct sweep", &tp, &p99);
        assert!(svg.contains("stroke-dasharray") && svg.contains(">offered = achieved<"));
        assert!(svg.contains(">throughput<") && svg.contains(">p99 delivery latency<"));
        assert!(balanced(&svg, "text"));
        assert!(!svg.contains("NaN"));
        let empty = load_plot("nothing", &[], &[]);
        assert!(!empty.contains("NaN") && empty.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn axes_round_to_readable_steps() {
        assert_eq!(nice_step(0.7), 1.0);
        assert_eq!(nice_step(1.3), 2.0);
        assert_eq!(nice_step(420.0), 500.0);
        let axis = Axis::linear(9.3, "", |v| v.to_string());
        assert_eq!((axis.max, axis.ticks.len()), (10.0, 6));
        let log = Axis::log10(0.3, 2500.0, "", |v| v.to_string());
        assert_eq!((log.min, log.max), (0.1, 10_000.0));
        assert!((nines(0.99, 6.0) - 2.0).abs() < 1e-9 && nines(1.0, 4.0) == 4.0);
    }
}
