//! The SVG plot: delivery latency percentiles (p50, p99, p99.9) against
//! offered load in the 1,000-member room, drawn with `plotters`' SVG
//! backend (text is left to the SVG viewer: no font files needed).
//!
//! The points are fanout-100k and fanout-1m at their offered loads, and
//! fanout-max at the load it reached (it offers as much as is accepted).
//! Lines join the medians; small dots show every measured run.

use crate::figures::{rate, Metric};
use crate::report::ScenarioReport;
use crate::scenarios::{FANOUT_100K, FANOUT_1M, FANOUT_MAX};
use plotters::coord::combinators::BindKeyPoints;
use plotters::prelude::*;
use std::path::Path;

/// Size of the plot, in pixels.
pub const PLOT_SIZE: (u32, u32) = (960, 600);

/// Why the plot could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the plot: {0}")]
pub struct PlotError(String);

/// One scenario's place on the plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Which scenario.
    pub scenario: &'static str,
    /// Offered (or reached) deliveries per second, median.
    pub load: f64,
    /// Median p50, p99 and p99.9, ms.
    pub medians: [f64; 3],
    /// Each measured run: load and its p50, p99, p99.9.
    pub runs: Vec<(f64, [f64; 3])>,
}

/// The percentiles plotted, with their colours.
const SERIES: [(&str, RGBColor); 3] = [
    ("p50", RGBColor(31, 119, 180)),
    ("p99", RGBColor(255, 127, 14)),
    ("p99.9", RGBColor(214, 39, 40)),
];

/// The points of the plot, in order of load, from the scenario reports.
pub fn points(reports: &[ScenarioReport]) -> Vec<Point> {
    let mut points: Vec<Point> = [FANOUT_100K, FANOUT_1M, FANOUT_MAX]
        .iter()
        .filter_map(|&name| {
            let report = reports.iter().find(|r| r.name == name)?;
            let load_metric = if name == FANOUT_MAX {
                Metric::DeliveriesPerSec
            } else {
                Metric::OfferedPerSec
            };
            let median = |metric: Metric| {
                report
                    .summary
                    .iter()
                    .find(|s| s.metric == metric)
                    .map(|s| s.spread.median)
            };
            let runs = report
                .runs
                .iter()
                .filter(|run| !run.warmup)
                .filter_map(|run| {
                    let latency = run.latency.as_ref()?;
                    Some((
                        load_metric.of(run)?,
                        [latency.p50_ms, latency.p99_ms, latency.p999_ms],
                    ))
                })
                .collect();
            Some(Point {
                scenario: name,
                load: median(load_metric)?,
                medians: [
                    median(Metric::P50)?,
                    median(Metric::P99)?,
                    median(Metric::P999)?,
                ],
                runs,
            })
        })
        .filter(|point| point.load > 0.0)
        .collect();
    points.sort_by(|a, b| a.load.total_cmp(&b.load));
    points
}

/// A log axis range around `values`, a bit wider than they are.
fn log_range(values: impl Iterator<Item = f64>, floor: f64) -> (f64, f64) {
    let (low, high) = values
        .filter(|v| *v > 0.0 && v.is_finite())
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if low > high {
        return (floor, floor * 10.0);
    }
    ((low / 2.0).max(floor), high * 2.0)
}

/// Draws the plot of `points` to `path`; `title` names the room size.
pub fn draw(points: &[Point], title: &str, path: &Path) -> Result<(), PlotError> {
    let err = |e: &dyn std::fmt::Debug| PlotError(format!("{e:?}"));
    let root = SVGBackend::new(path, PLOT_SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    if points.is_empty() {
        root.draw(&Text::new(
            "no latency figures: run fanout-100k, fanout-1m or fanout-max",
            (40, 280),
            ("sans-serif", 20),
        ))
        .map_err(|e| err(&e))?;
        return root.present().map_err(|e| err(&e));
    }
    let (x0, x1) = log_range(
        points
            .iter()
            .flat_map(|p| std::iter::once(p.load).chain(p.runs.iter().map(|r| r.0))),
        1.0,
    );
    let (y0, y1) = log_range(
        points
            .iter()
            .flat_map(|p| p.medians.into_iter().chain(p.runs.iter().flat_map(|r| r.1))),
        0.01,
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(
            (x0..x1).log_scale().with_key_points(ticks(x0, x1)),
            (y0..y1).log_scale().with_key_points(ticks(y0, y1)),
        )
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("offered load (deliveries/s; fanout-max: reached)")
        .y_desc("delivery latency (ms)")
        .light_line_style(WHITE)
        .x_label_formatter(&|x| rate(*x))
        .y_label_formatter(&|y| axis_number(*y))
        .draw()
        .map_err(|e| err(&e))?;
    for (index, (name, color)) in SERIES.iter().enumerate() {
        let medians: Vec<(f64, f64)> = points.iter().map(|p| (p.load, p.medians[index])).collect();
        chart
            .draw_series(LineSeries::new(medians.clone(), color.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(*name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart
            .draw_series(medians.iter().map(|&at| Circle::new(at, 5, color.filled())))
            .map_err(|e| err(&e))?;
        let runs = points.iter().flat_map(|p| {
            p.runs
                .iter()
                .map(move |(load, values)| (*load, values[index]))
        });
        chart
            .draw_series(runs.map(|at| Circle::new(at, 2, color.mix(0.5).filled())))
            .map_err(|e| err(&e))?;
    }
    chart
        .draw_series(points.iter().map(|p| {
            Text::new(
                p.scenario.to_string(),
                (p.load, p.medians[0]),
                ("sans-serif", 14).into_font().color(&BLACK),
            )
        }))
        .map_err(|e| err(&e))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))
}

/// Tick marks of a log axis from `low` to `high`: 1, 2 and 5 times each
/// power of ten in between.
fn ticks(low: f64, high: f64) -> Vec<f64> {
    let mut ticks = Vec::new();
    let mut decade = 10f64.powf(low.log10().floor());
    while decade <= high {
        for step in [1.0, 2.0, 5.0] {
            let tick = decade * step;
            if (low..=high).contains(&tick) {
                ticks.push(tick);
            }
        }
        decade *= 10.0;
    }
    ticks
}

/// An axis label: no needless decimals (`10`, `2.5`, `0.25`).
fn axis_number(value: f64) -> String {
    let text = crate::figures::significant(value);
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_are_one_two_five_per_decade() {
        let ticks = ticks(1.5, 60.0);
        let want = [2.0, 5.0, 10.0, 20.0, 50.0];
        assert_eq!(ticks.len(), want.len(), "{ticks:?}");
        for (got, want) in ticks.iter().zip(want) {
            assert!((got - want).abs() < 1e-9, "{ticks:?}");
        }
    }

    #[test]
    fn axis_numbers_drop_needless_decimals() {
        assert_eq!(axis_number(10.0), "10");
        assert_eq!(axis_number(2.5), "2.5");
        assert_eq!(axis_number(0.25), "0.25");
        assert_eq!(axis_number(200.0), "200");
    }

    #[test]
    fn log_ranges_pad_the_values_and_survive_nothing() {
        assert_eq!(log_range([10.0, 100.0].into_iter(), 1.0), (5.0, 200.0));
        assert_eq!(log_range(std::iter::empty(), 1.0), (1.0, 10.0));
        assert_eq!(log_range([0.0, -1.0].into_iter(), 0.5), (0.5, 5.0));
    }

    #[test]
    fn the_plot_is_an_svg_with_the_series_and_scenarios() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("plot.svg");
        let points = vec![
            Point {
                scenario: FANOUT_100K,
                load: 1e5,
                medians: [1.0, 5.0, 8.0],
                runs: vec![(1e5, [1.1, 5.5, 9.0])],
            },
            Point {
                scenario: FANOUT_1M,
                load: 1e6,
                medians: [3.0, 20.0, 30.0],
                runs: Vec::new(),
            },
        ];
        draw(&points, "latency", &path).expect("draw");
        let svg = std::fs::read_to_string(&path).expect("read the plot");
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        for text in ["p50", "p99.9", FANOUT_100K, FANOUT_1M, "delivery latency"] {
            assert!(svg.contains(text), "{text} missing");
        }
    }
}
