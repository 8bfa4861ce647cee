//! Percentiles over samples, and the report rows every scenario produces.

use std::time::Duration;

use serde::Serialize;

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Percentiles {
    /// Samples taken.
    pub n: usize,
    /// Median.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
    /// Largest sample.
    pub max_us: f64,
}

impl Percentiles {
    /// Percentiles of `samples` (sorted here).
    pub fn of(samples: &mut [Duration]) -> Percentiles {
        samples.sort_unstable();
        let at = |q: f64| {
            if samples.is_empty() {
                return f64::NAN;
            }
            let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[i].as_secs_f64() * 1e6
        };
        Percentiles {
            n: samples.len(),
            p50_us: at(0.50),
            p99_us: at(0.99),
            p999_us: at(0.999),
            max_us: at(1.0),
        }
    }
}

/// Median of a few values (NaN when empty).
pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let m = values.len() / 2;
    if values.len() % 2 == 1 {
        values[m]
    } else {
        (values[m - 1] + values[m]) / 2.0
    }
}

/// One line of the printed table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// What was measured.
    pub metric: String,
    /// The value, formatted with its unit.
    pub value: String,
    /// The physical limit or baseline it is set beside, if any.
    pub limit: String,
    /// value / limit, when both are numbers.
    pub ratio: Option<f64>,
}

impl Row {
    /// A row without a baseline.
    pub fn plain(metric: impl Into<String>, value: impl Into<String>) -> Row {
        Row {
            metric: metric.into(),
            value: value.into(),
            limit: String::new(),
            ratio: None,
        }
    }

    /// A row set beside a baseline measured in the same run.
    pub fn vs(metric: impl Into<String>, value: f64, limit: f64, unit: &str) -> Row {
        Row {
            metric: metric.into(),
            value: format!("{} {unit}", figure(value)),
            limit: format!("{} {unit}", figure(limit)),
            ratio: Some(value / limit),
        }
    }
}

/// A measured number with sensible precision: two decimals below 10, one above.
fn figure(x: f64) -> String {
    if x.abs() < 10.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.1}")
    }
}

/// Prints rows as an aligned table.
pub fn print_table(title: &str, rows: &[Row]) {
    let w0 = rows
        .iter()
        .map(|r| r.metric.chars().count())
        .max()
        .unwrap_or(0)
        .max(6);
    let w1 = rows
        .iter()
        .map(|r| r.value.chars().count())
        .max()
        .unwrap_or(0)
        .max(5);
    let w2 = rows
        .iter()
        .map(|r| r.limit.chars().count())
        .max()
        .unwrap_or(0)
        .max(8);
    println!("\n## {title}");
    println!(
        "{:w0$}  {:>w1$}  {:>w2$}  ratio",
        "metric", "value", "baseline"
    );
    for r in rows {
        let ratio = r.ratio.map_or_else(String::new, |x| format!("{x:.2}×"));
        println!(
            "{:w0$}  {:>w1$}  {:>w2$}  {ratio}",
            r.metric, r.value, r.limit
        );
    }
}
