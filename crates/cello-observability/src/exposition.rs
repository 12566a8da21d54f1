//! The Prometheus text exposition format (version 0.0.4) of a [`Region`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::region::{GaugeMode, Kind, Region, SHARED};

/// The `Content-Type` of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A sample value as Prometheus writes it: integers without a fraction, `+Inf`,
/// `-Inf`, `NaN`.
pub fn format_value(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if value.fract() == 0.0 && value.abs() < 1e15 {
        // An integral value below 2^53: exact as i64.
        #[allow(clippy::cast_possible_truncation)]
        return (value as i64).to_string();
    }
    ryu::Buffer::new().format(value).to_owned()
}

/// Escapes a label value (`\`, `"`, newline).
pub fn escape_label_value(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for character in value.chars() {
        match character {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// Renders `name="value",...` from pairs (values escaped).
pub fn label_set(pairs: &[(&str, &str)]) -> String {
    let mut text = String::new();
    for (index, (name, value)) in pairs.iter().enumerate() {
        if index > 0 {
            text.push(',');
        }
        let _ = write!(text, "{name}=\"{}\"", escape_label_value(value));
    }
    text
}

fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

fn braces(labels: &str, extra: &str) -> String {
    match (labels.is_empty(), extra.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!("{{{labels}}}"),
        (true, false) => format!("{{{extra}}}"),
        (false, false) => format!("{{{labels},{extra}}}"),
    }
}

/// Appends every family of `region` to `out`, in name order. Counters and histograms
/// are shared by the workers already; gauges are combined over the live workers as
/// their family's [`GaugeMode`] says.
pub fn render(region: &Region, out: &mut String) {
    let live: BTreeMap<u32, u32> = region.workers().into_iter().collect();
    let mut by_family: BTreeMap<u32, Vec<_>> = BTreeMap::new();
    for (series, family, worker, labels) in region.all_series() {
        by_family
            .entry(family.0)
            .or_default()
            .push((series, worker, labels));
    }
    let mut families = region.families();
    families.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    for (id, info) in families {
        let Some(series) = by_family.get(&id.0) else {
            continue;
        };
        let kind = match info.kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        let _ = writeln!(out, "# HELP {} {}", info.name, escape_help(&info.help));
        let _ = writeln!(out, "# TYPE {} {kind}", info.name);
        match info.kind {
            Kind::Counter => {
                let mut sums: BTreeMap<&str, f64> = BTreeMap::new();
                for (series_id, _, labels) in series {
                    *sums.entry(labels.as_str()).or_default() += region.value(*series_id);
                }
                for (labels, value) in sums {
                    let _ = writeln!(
                        out,
                        "{}{} {}",
                        info.name,
                        braces(labels, ""),
                        format_value(value)
                    );
                }
            }
            Kind::Gauge => render_gauge(region, &info.name, info.mode, series, &live, out),
            Kind::Histogram => {
                let mut merged: BTreeMap<&str, (u64, f64, Vec<u64>)> = BTreeMap::new();
                for (series_id, _, labels) in series {
                    let (count, sum, buckets) = region.histogram(*series_id, info.bounds.len());
                    let entry = merged
                        .entry(labels.as_str())
                        .or_insert_with(|| (0, 0.0, vec![0; info.bounds.len() + 1]));
                    entry.0 += count;
                    entry.1 += sum;
                    for (total, bucket) in entry.2.iter_mut().zip(buckets) {
                        *total += bucket;
                    }
                }
                for (labels, (count, sum, buckets)) in merged {
                    let mut cumulative = 0;
                    for (index, bucket) in buckets.iter().enumerate() {
                        cumulative += bucket;
                        let bound = info
                            .bounds
                            .get(index)
                            .map_or_else(|| "+Inf".to_owned(), |b| format_value(*b));
                        let le = format!("le=\"{bound}\"");
                        let _ = writeln!(
                            out,
                            "{}_bucket{} {cumulative}",
                            info.name,
                            braces(labels, &le)
                        );
                    }
                    let _ = writeln!(
                        out,
                        "{}_sum{} {}",
                        info.name,
                        braces(labels, ""),
                        format_value(sum)
                    );
                    let _ = writeln!(out, "{}_count{} {count}", info.name, braces(labels, ""));
                }
            }
        }
    }
}

fn render_gauge(
    region: &Region,
    name: &str,
    mode: GaugeMode,
    series: &[(crate::region::SeriesId, u32, String)],
    live: &BTreeMap<u32, u32>,
    out: &mut String,
) {
    let mut combined: BTreeMap<String, f64> = BTreeMap::new();
    for (series_id, worker, labels) in series {
        let value = region.value(*series_id);
        let pid = if *worker == SHARED {
            None
        } else {
            match live.get(worker) {
                Some(pid) => Some(*pid),
                None => continue, // a worker that has exited
            }
        };
        if mode == GaugeMode::All {
            let worker_label = pid.map_or_else(
                || "worker=\"shared\"".to_owned(),
                |pid| format!("worker=\"{pid}\""),
            );
            combined.insert(braces(labels, &worker_label), value);
            continue;
        }
        let key = braces(labels, "");
        match combined.get_mut(&key) {
            None => {
                combined.insert(key, value);
            }
            Some(current) => {
                *current = match mode {
                    GaugeMode::Max => current.max(value),
                    GaugeMode::Min => current.min(value),
                    GaugeMode::Sum | GaugeMode::All => *current + value,
                };
            }
        }
    }
    for (labels, value) in combined {
        let _ = writeln!(out, "{name}{labels} {}", format_value(value));
    }
}
