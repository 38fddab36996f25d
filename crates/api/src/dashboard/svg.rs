//! Server-rendered inline SVG charts for the dashboard.
//!
//! The pages run under a strict Content-Security-Policy (`crate::security`), so a chart is
//! plain markup: no script, no style attribute, nothing fetched from elsewhere. Colours come
//! from the page's own stylesheet by class (a series' class, `axis`, `grid`), and every
//! mark carries a `<title>` (what a pointer or a screen reader gets) and `data-*`
//! attributes with its figures, so tests and tools read the numbers rather than pixels.
//! Every interpolated text goes through [`esc`].

use super::html::esc;

/// The drawing's size in user units; the stylesheet scales it to the page.
pub(crate) const WIDTH: f64 = 760.0;
pub(crate) const HEIGHT: f64 = 220.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 26.0;

/// One named series: its legend text and the class its marks are coloured by.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Series<'a> {
    pub(crate) name: &'a str,
    pub(crate) class: &'a str,
}

/// One step of the x axis: its short axis label (empty: none drawn), its full label for
/// titles, and one value per series (`None`: nothing to draw).
#[derive(Debug, Clone)]
pub(crate) struct Category {
    pub(crate) axis: String,
    pub(crate) full: String,
    pub(crate) values: Vec<Option<f64>>,
}

/// A chart: stacked bars or lines with points over the same categories.
#[derive(Debug, Clone)]
pub(crate) struct Chart<'a> {
    /// The element's id; its `<title>` and `<desc>` ids derive from it.
    pub(crate) id: &'a str,
    pub(crate) title: &'a str,
    /// What the y axis counts, for its label and the marks' titles ("deliveries", "s").
    pub(crate) unit: &'a str,
    pub(crate) series: &'a [Series<'a>],
    pub(crate) categories: Vec<Category>,
}

/// A y scale from 0 to `top` in `step`s: the smallest 1-2-5 step that draws `max` in at
/// most five steps (whole numbers only when `whole`). Empty data gets 0 to 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Scale {
    pub(crate) top: f64,
    pub(crate) step: f64,
}

impl Scale {
    pub(crate) fn for_max(max: f64, whole: bool) -> Scale {
        if !max.is_finite() || max <= 0.0 {
            return Scale {
                top: 1.0,
                step: 1.0,
            };
        }
        let rough = max / 5.0;
        let magnitude = 10f64.powf(rough.log10().floor());
        let fraction = rough / magnitude;
        let nice = if fraction <= 1.0 {
            1.0
        } else if fraction <= 2.0 {
            2.0
        } else if fraction <= 5.0 {
            5.0
        } else {
            10.0
        };
        let mut step = nice * magnitude;
        if whole {
            step = step.max(1.0).round();
        }
        Scale {
            top: (max / step - 1e-9).ceil().max(1.0) * step,
            step,
        }
    }

    /// The y coordinate of `value`.
    fn y(self, value: f64) -> f64 {
        let plot = HEIGHT - TOP - BOTTOM;
        HEIGHT - BOTTOM - (value / self.top).clamp(0.0, 1.0) * plot
    }

    fn ticks(self) -> Vec<f64> {
        let n = (self.top / self.step).round() as usize;
        (0..=n).map(|i| i as f64 * self.step).collect()
    }
}

/// A number as the charts write it: whole numbers without decimals, others with at most two.
pub(crate) fn num(value: f64) -> String {
    if (value - value.round()).abs() < 1e-9 {
        format!("{}", value.round() as i64)
    } else {
        let text = format!("{value:.2}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// `<svg>` with its accessible title and description, then the legend.
fn open(chart: &Chart<'_>, kind: &str, desc: &str) -> String {
    let id = esc(chart.id);
    let mut out = format!(
        "<svg id=\"{id}\" class=\"chart {kind}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" \
         aria-labelledby=\"{id}-title {id}-desc\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"{id}-title\">{title}</title><desc id=\"{id}-desc\">{desc}</desc>",
        title = esc(chart.title),
        desc = esc(desc),
    );
    let mut x = LEFT;
    for s in chart.series {
        out.push_str(&format!(
            "<g class=\"legend\"><rect class=\"{class}\" x=\"{x}\" y=\"8\" width=\"10\" \
             height=\"10\"></rect><text x=\"{tx}\" y=\"17\">{name}</text></g>",
            class = esc(s.class),
            tx = x + 14.0,
            name = esc(s.name),
        ));
        x += 24.0 + 7.0 * s.name.chars().count() as f64;
    }
    out
}

/// The grid, the y axis with its ticks and unit, and the x axis with its labels.
fn axes(chart: &Chart<'_>, scale: Scale, slot: f64) -> String {
    let mut out = String::new();
    for tick in scale.ticks() {
        let y = scale.y(tick);
        out.push_str(&format!(
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{x2}\" y1=\"{y:.1}\" y2=\"{y:.1}\"></line>\
             <text class=\"tick\" x=\"{tx}\" y=\"{ty:.1}\" text-anchor=\"end\">{label}</text>",
            x2 = WIDTH - RIGHT,
            tx = LEFT - 6.0,
            ty = y + 4.0,
            label = esc(num(tick)),
        ));
    }
    out.push_str(&format!(
        "<text class=\"unit\" x=\"4\" y=\"{y}\">{unit}</text>\
         <line class=\"axis\" x1=\"{LEFT}\" x2=\"{LEFT}\" y1=\"{TOP}\" y2=\"{bottom}\"></line>\
         <line class=\"axis\" x1=\"{LEFT}\" x2=\"{right}\" y1=\"{bottom}\" y2=\"{bottom}\"></line>",
        y = TOP - 6.0,
        unit = esc(chart.unit),
        bottom = HEIGHT - BOTTOM,
        right = WIDTH - RIGHT,
    ));
    for (i, c) in chart.categories.iter().enumerate() {
        if c.axis.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "<text class=\"tick\" x=\"{x:.1}\" y=\"{y}\" text-anchor=\"middle\">{label}</text>",
            x = LEFT + (i as f64 + 0.5) * slot,
            y = HEIGHT - 8.0,
            label = esc(&c.axis),
        ));
    }
    if chart
        .categories
        .iter()
        .all(|c| c.values.iter().all(|v| v.is_none_or(|v| v == 0.0)))
    {
        out.push_str(&format!(
            "<text class=\"empty\" x=\"{x}\" y=\"{y}\" text-anchor=\"middle\">No data in this \
             window</text>",
            x = (LEFT + WIDTH - RIGHT) / 2.0,
            y = (TOP + HEIGHT - BOTTOM) / 2.0,
        ));
    }
    out
}

fn slot(chart: &Chart<'_>) -> f64 {
    (WIDTH - LEFT - RIGHT) / chart.categories.len().max(1) as f64
}

fn total(chart: &Chart<'_>, series: usize) -> f64 {
    chart
        .categories
        .iter()
        .filter_map(|c| c.values.get(series).copied().flatten())
        .sum()
}

/// Stacked bars: per category, one rectangle per series with a value above zero.
pub(crate) fn bars(chart: &Chart<'_>) -> String {
    let max = chart
        .categories
        .iter()
        .map(|c| c.values.iter().flatten().sum::<f64>())
        .fold(0.0, f64::max);
    let scale = Scale::for_max(max, true);
    let slot = slot(chart);
    let totals: Vec<String> = chart
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{} {}", num(total(chart, i)), s.name))
        .collect();
    let mut out = open(chart, "bars", &format!("In all: {}.", totals.join(", ")));
    out.push_str(&axes(chart, scale, slot));
    for (i, c) in chart.categories.iter().enumerate() {
        let x = LEFT + i as f64 * slot + slot * 0.1;
        let mut below = 0.0;
        for (s, value) in chart.series.iter().zip(&c.values) {
            let Some(value) = value.filter(|v| *v > 0.0) else {
                continue;
            };
            let (y0, y1) = (scale.y(below), scale.y(below + value));
            below += value;
            out.push_str(&format!(
                "<rect class=\"{class}\" x=\"{x:.1}\" y=\"{y1:.1}\" width=\"{w:.1}\" \
                 height=\"{h:.1}\" data-series=\"{series}\" data-count=\"{count}\" \
                 data-at=\"{at}\"><title>{at}: {count} {series}</title></rect>",
                class = esc(s.class),
                w = slot * 0.8,
                h = (y0 - y1).max(0.5),
                series = esc(s.name),
                count = esc(num(value)),
                at = esc(&c.full),
            ));
        }
    }
    out.push_str("</svg>");
    out
}

/// Lines with a point per value; a category without a value breaks the line.
pub(crate) fn lines(chart: &Chart<'_>) -> String {
    let max = chart
        .categories
        .iter()
        .flat_map(|c| c.values.iter().flatten().copied())
        .fold(0.0, f64::max);
    let scale = Scale::for_max(max, false);
    let slot = slot(chart);
    let mut out = open(
        chart,
        "lines",
        &format!(
            "{} of {} steps have a value.",
            chart
                .categories
                .iter()
                .filter(|c| c.values.iter().any(Option::is_some))
                .count(),
            chart.categories.len()
        ),
    );
    out.push_str(&axes(chart, scale, slot));
    for (s_index, s) in chart.series.iter().enumerate() {
        let mut run: Vec<(f64, f64)> = Vec::new();
        let mut points = String::new();
        let flush = |run: &mut Vec<(f64, f64)>, out: &mut String| {
            if run.len() > 1 {
                let coords: Vec<String> =
                    run.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
                out.push_str(&format!(
                    "<polyline class=\"line {}\" points=\"{}\"></polyline>",
                    esc(s.class),
                    coords.join(" ")
                ));
            }
            run.clear();
        };
        for (i, c) in chart.categories.iter().enumerate() {
            match c.values.get(s_index).copied().flatten() {
                Some(value) => {
                    let (x, y) = (LEFT + (i as f64 + 0.5) * slot, scale.y(value));
                    run.push((x, y));
                    points.push_str(&format!(
                        "<circle class=\"{class}\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2.5\" \
                         data-series=\"{series}\" data-value=\"{value}\" data-at=\"{at}\">\
                         <title>{at}: {series} {value} {unit}</title></circle>",
                        class = esc(s.class),
                        series = esc(s.name),
                        value = esc(num(value)),
                        at = esc(&c.full),
                        unit = esc(chart.unit),
                    ));
                }
                None => flush(&mut run, &mut out),
            }
        }
        flush(&mut run, &mut out);
        out.push_str(&points);
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &[Series<'_>] = &[
        Series {
            name: "published",
            class: "published",
        },
        Series {
            name: "failed",
            class: "failed",
        },
    ];

    fn chart(categories: Vec<Category>) -> Chart<'static> {
        Chart {
            id: "c",
            title: "Outcomes",
            unit: "deliveries",
            series: TWO,
            categories,
        }
    }

    fn cat(label: &str, values: &[Option<f64>]) -> Category {
        Category {
            axis: label.to_owned(),
            full: label.to_owned(),
            values: values.to_vec(),
        }
    }

    #[test]
    fn scales_round_up_to_one_two_five_steps() {
        assert_eq!(
            Scale::for_max(3.0, true),
            Scale {
                top: 3.0,
                step: 1.0
            }
        );
        assert_eq!(
            Scale::for_max(17.0, true),
            Scale {
                top: 20.0,
                step: 5.0
            }
        );
        assert_eq!(
            Scale::for_max(230.0, true),
            Scale {
                top: 250.0,
                step: 50.0
            }
        );
        assert_eq!(
            Scale::for_max(0.3, false).round(),
            Scale {
                top: 0.3,
                step: 0.1
            }
        );
        assert_eq!(
            Scale::for_max(0.0, true),
            Scale {
                top: 1.0,
                step: 1.0
            }
        );
        assert_eq!(
            Scale::for_max(f64::NAN, false),
            Scale {
                top: 1.0,
                step: 1.0
            }
        );
        // The top value sits on the plot's top edge, zero on the x axis.
        let s = Scale::for_max(10.0, true);
        assert!((s.y(s.top) - TOP).abs() < 1e-9);
        assert!((s.y(0.0) - (HEIGHT - BOTTOM)).abs() < 1e-9);
        assert_eq!(num(2.0), "2");
        assert_eq!(num(2.5), "2.5");
        assert_eq!(num(0.126), "0.13");
    }

    impl Scale {
        fn round(self) -> Scale {
            Scale {
                top: (self.top * 1e9).round() / 1e9,
                step: (self.step * 1e9).round() / 1e9,
            }
        }
    }

    #[test]
    fn bars_carry_their_figures_and_stack() {
        let svg = bars(&chart(vec![
            cat("14:00", &[Some(2.0), Some(1.0)]),
            cat("", &[Some(0.0), None]),
        ]));
        assert!(svg.contains("data-series=\"published\" data-count=\"2\" data-at=\"14:00\""));
        assert!(svg.contains("<title>14:00: 1 failed</title>"));
        assert!(svg.contains("<desc id=\"c-desc\">In all: 2 published, 1 failed.</desc>"));
        // Zero and missing values draw nothing.
        assert_eq!(svg.matches("data-series=\"published\"").count(), 1);
        assert!(!svg.contains("No data"));
        // The legend names both series by their classes.
        assert!(svg.contains("<rect class=\"failed\" x=\""));
        assert!(svg.contains(">failed</text>"));
    }

    #[test]
    fn empty_charts_still_have_axes_and_say_so() {
        for svg in [
            bars(&chart(Vec::new())),
            lines(&chart(vec![cat("a", &[None, None])])),
        ] {
            assert!(svg.contains("No data in this window"), "{svg}");
            assert!(svg.contains("class=\"axis\""));
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        }
    }

    #[test]
    fn lines_break_where_a_value_is_missing() {
        let svg = lines(&chart(vec![
            cat("a", &[Some(1.0), None]),
            cat("b", &[Some(2.0), None]),
            cat("c", &[None, None]),
            cat("d", &[Some(4.0), Some(1.5)]),
        ]));
        // a-b is one line; d stands alone (a point, no line).
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert_eq!(svg.matches("<circle").count(), 4);
        assert!(svg.contains("<title>d: failed 1.5 deliveries</title>"));
    }

    #[test]
    fn every_text_is_escaped() {
        let evil = Series {
            name: "<script>x</script>",
            class: "a\"b",
        };
        let series = [evil];
        let svg = bars(&Chart {
            id: "i\"d",
            title: "<b>t</b>",
            unit: "&",
            series: &series,
            categories: vec![cat("<x>", &[Some(1.0)])],
        });
        assert!(!svg.contains("<script>") && !svg.contains("<b>") && !svg.contains("<x>"));
        assert!(svg.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(svg.contains("class=\"a&quot;b\""));
        assert!(svg.contains("id=\"i&quot;d\""));
        assert!(svg.contains(">&amp;</text>"));
    }
}
