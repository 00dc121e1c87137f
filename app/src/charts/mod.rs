//! Charts as SVG markup, built by pure functions (see `crate::markup` for why).

pub mod budget;
pub mod cost;

pub use crate::markup::escape;
use std::fmt::Write;

/// A round axis maximum above `max`: 1, 2 or 5 times a power of ten.
pub fn nice_ceiling(max: f64) -> f64 {
    if max.is_nan() || max <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|v| *v >= max * (1.0 - 1e-12))
        .unwrap_or(10.0 * magnitude)
}

/// The drawing area inside an SVG of `width` × `height` with room for axes.
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
}

impl Frame {
    pub fn inner_width(&self) -> f64 {
        self.width - self.left - self.right
    }

    pub fn inner_height(&self) -> f64 {
        self.height - self.top - self.bottom
    }

    pub fn x_end(&self) -> f64 {
        self.width - self.right
    }

    pub fn y_end(&self) -> f64 {
        self.height - self.bottom
    }

    /// The y of `value` on a linear axis from 0 to `max`.
    pub fn y_linear(&self, value: f64, max: f64) -> f64 {
        self.top + (1.0 - (value / max).clamp(0.0, 1.0)) * self.inner_height()
    }

    /// Horizontal grid lines with labels, for a linear axis from 0 to `max` in `steps` steps.
    pub fn y_grid(&self, out: &mut String, max: f64, steps: u32, label: impl Fn(f64) -> String) {
        for i in 0..=steps {
            let value = max * f64::from(i) / f64::from(steps);
            let y = self.y_linear(value, max);
            let _ = write!(
                out,
                r#"<line class="grid" x1="{:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                self.left,
                self.x_end(),
                self.left - 8.0,
                y + 4.0,
                escape(&label(value))
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice_ceiling(617.0), 1000.0);
        assert_eq!(nice_ceiling(1_480.0), 2000.0);
        assert_eq!(nice_ceiling(4_100.0), 5000.0);
        assert_eq!(nice_ceiling(500.0), 500.0);
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(f64::NAN), 1.0);
    }
}
