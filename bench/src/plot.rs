//! An SVG of gRPC Checkout throughput and p99 latency against the client count, one
//! line per build, written beside the report. Client counts sit evenly spaced (they
//! grow by factors, not steps); each point is labelled with its value, the builds'
//! labels stacked so that equal values stay readable.

use std::fmt::Write;

use crate::run::{Results, Scenario};

const PANEL_W: f64 = 420.0;
const PANEL_H: f64 = 260.0;
const MARGIN: f64 = 50.0;
const COLORS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

/// The SVG document, or `None` when no build measured gRPC Checkout.
pub fn svg(results: &Results) -> Option<String> {
    let mut clients: Vec<usize> = results
        .checkout
        .iter()
        .filter(|r| r.scenario == Scenario::Checkout)
        .map(|r| r.concurrency)
        .collect();
    clients.sort_unstable();
    clients.dedup();
    if clients.is_empty() {
        return None;
    }
    let series = |value: fn(&crate::run::CheckoutRow) -> f64| -> Vec<Vec<Option<f64>>> {
        (0..results.builds.len())
            .map(|build| {
                clients
                    .iter()
                    .map(|&c| results.row(build, Scenario::Checkout, c).map(value))
                    .collect()
            })
            .collect()
    };
    let throughput = series(|r| r.stats.throughput());
    let p99 = series(|r| r.stats.latency().p99);

    let width = 2.0 * (PANEL_W + 2.0 * MARGIN);
    let height = PANEL_H + 2.0 * MARGIN + 20.0 * results.builds.len() as f64;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    panel(
        &mut out,
        0.0,
        "gRPC Checkout: checkouts/s",
        &clients,
        &throughput,
    );
    panel(
        &mut out,
        PANEL_W + 2.0 * MARGIN,
        "gRPC Checkout: p99 ms",
        &clients,
        &p99,
    );
    for (i, name) in results.builds.iter().enumerate() {
        let y = PANEL_H + 2.0 * MARGIN + 20.0 * i as f64 + 5.0;
        let color = COLORS[i % COLORS.len()];
        let _ = writeln!(
            out,
            r#"<rect x="{MARGIN}" y="{}" width="14" height="4" fill="{color}"/><text x="{}" y="{y}">{}</text>"#,
            y - 4.0,
            MARGIN + 20.0,
            escape(name)
        );
    }
    out.push_str("</svg>\n");
    Some(out)
}

/// One chart at horizontal offset `left`: axes, title, a line per build.
fn panel(out: &mut String, left: f64, title: &str, clients: &[usize], lines: &[Vec<Option<f64>>]) {
    let top = MARGIN;
    let (x0, y0) = (left + MARGIN, top + PANEL_H);
    let max = lines
        .iter()
        .flatten()
        .flatten()
        .copied()
        .fold(0.0_f64, f64::max)
        .max(1e-9)
        * 1.15;
    let x = |i: usize| {
        if clients.len() == 1 {
            x0 + PANEL_W / 2.0
        } else {
            x0 + PANEL_W * i as f64 / (clients.len() - 1) as f64
        }
    };
    let y = |v: f64| y0 - PANEL_H * v / max;
    let _ = writeln!(
        out,
        r#"<text x="{x0}" y="{}" font-weight="bold">{}</text>"#,
        top - 15.0,
        escape(title)
    );
    let _ = writeln!(
        out,
        r##"<path d="M{x0},{top} V{y0} H{}" fill="none" stroke="#444"/>"##,
        x0 + PANEL_W
    );
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="end">{:.0}</text><text x="{}" y="{y0}" text-anchor="end">0</text>"#,
        x0 - 5.0,
        top + 4.0,
        max,
        x0 - 5.0
    );
    for (i, c) in clients.iter().enumerate() {
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" text-anchor="middle">{c} client{}</text>"#,
            x(i),
            y0 + 18.0,
            if *c == 1 { "" } else { "s" }
        );
    }
    for (build, values) in lines.iter().enumerate() {
        let color = COLORS[build % COLORS.len()];
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| format!("{:.1},{:.1}", x(i), y(v))))
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
            points.join(" ")
        );
        for (i, v) in values.iter().enumerate() {
            if let Some(v) = v {
                let _ = writeln!(
                    out,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{color}"/><text x="{:.1}" y="{:.1}" fill="{color}">{v:.1}</text>"#,
                    x(i),
                    y(*v),
                    x(i) + 5.0,
                    y(*v) - 5.0 - 13.0 * build as f64
                );
            }
        }
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
