//! Drawing the report's PNGs: image grids (tiles of pixels with captions) and the loss curve.
//!
//! Text and the chart go through plotters (with an embedded DejaVu font, so no system fonts are
//! needed); image tiles are written straight into the RGB buffer, one square of `SCALE x SCALE`
//! screen pixels per image pixel, so a tile holds exactly the source pixels (the tests check it).

use std::path::Path;

use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::error::{Error, Result};
use crate::fsio;
use crate::train::history::EpochRecord;

/// Screen pixels per image pixel.
pub const SCALE: usize = 4;
/// Space around each tile.
pub const PAD: usize = 10;
/// Height of the figure's title band.
pub const HEADER: usize = 34;
/// Height of the caption band above each tile.
pub const CAPTION: usize = 22;

/// One tile: image pixels and the caption above them.
pub struct Tile {
    /// Row-major grey pixels.
    pub pixels: Vec<u8>,
    /// Caption.
    pub caption: String,
}

/// Geometry of a grid of `rows x cols` tiles of `h x w` images.
#[derive(Debug, Clone, Copy)]
pub struct Grid {
    /// Tile rows.
    pub rows: usize,
    /// Tile columns.
    pub cols: usize,
    /// Image height.
    pub h: usize,
    /// Image width.
    pub w: usize,
}

impl Grid {
    fn cell(&self) -> (usize, usize) {
        (self.w * SCALE + 2 * PAD, self.h * SCALE + CAPTION + PAD)
    }

    /// Figure size in screen pixels.
    pub fn size(&self) -> (usize, usize) {
        let (cw, ch) = self.cell();
        ((cw * self.cols).max(360), HEADER + ch * self.rows)
    }

    /// Top-left screen pixel of the image in tile (`row`, `col`).
    pub fn tile_origin(&self, row: usize, col: usize) -> (usize, usize) {
        let (cw, ch) = self.cell();
        (col * cw + PAD, HEADER + row * ch + CAPTION)
    }
}

fn font_ready() -> Result<()> {
    static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
            .is_ok()
    });
    ok.then_some(()).ok_or(Error::Font)
}

fn draw_err<E: std::error::Error + Send + Sync + 'static>(e: E) -> Error {
    Error::Figure {
        source: Box::new(e),
    }
}

fn save_png(path: &Path, buf: Vec<u8>, (w, h): (usize, usize)) -> Result<()> {
    let img = image::RgbImage::from_raw(w as u32, h as u32, buf).ok_or_else(|| Error::Figure {
        source: format!("a {w}x{h} figure does not fit its pixel buffer").into(),
    })?;
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png)
        .map_err(draw_err)?;
    fsio::write_atomic(path, png.get_ref())
}

/// Draws `tiles` (row-major, `grid.rows x grid.cols`) under `title` into a PNG at `path`.
pub fn image_grid(path: &Path, title: &str, grid: Grid, tiles: &[Tile]) -> Result<()> {
    font_ready()?;
    let (w, h) = grid.size();
    let mut buf = vec![255u8; w * h * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w as u32, h as u32)).into_drawing_area();
        root.draw_text(
            title,
            &("sans-serif", 20).into_font().color(&BLACK),
            (PAD as i32, 8),
        )
        .map_err(draw_err)?;
        for (k, tile) in tiles.iter().enumerate() {
            let (x, y) = grid.tile_origin(k / grid.cols, k % grid.cols);
            let style = ("sans-serif", 14).into_font().color(&BLACK);
            root.draw_text(&tile.caption, &style, (x as i32, (y - CAPTION + 4) as i32))
                .map_err(draw_err)?;
        }
        root.present().map_err(draw_err)?;
    }
    for (k, tile) in tiles.iter().enumerate() {
        let (x0, y0) = grid.tile_origin(k / grid.cols, k % grid.cols);
        for (i, &p) in tile.pixels.iter().enumerate().take(grid.w * grid.h) {
            let (r, c) = (i / grid.w, i % grid.w);
            for dy in 0..SCALE {
                for dx in 0..SCALE {
                    let at = ((y0 + r * SCALE + dy) * w + x0 + c * SCALE + dx) * 3;
                    buf[at..at + 3].copy_from_slice(&[p, p, p]);
                }
            }
        }
    }
    save_png(path, buf, (w, h))
}

/// Size of the loss-curve figure.
pub const HISTORY_SIZE: (usize, usize) = (800, 480);

/// Training (and validation) loss per epoch, with labelled axes.
pub fn loss_curve(path: &Path, epochs: &[EpochRecord]) -> Result<()> {
    font_ready()?;
    let (w, h) = HISTORY_SIZE;
    let mut buf = vec![255u8; w * h * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w as u32, h as u32)).into_drawing_area();
        let values = epochs
            .iter()
            .flat_map(|e| std::iter::once(e.loss).chain(e.val_loss));
        let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        let (lo, hi) = if lo.is_finite() {
            (lo * 0.95, hi * 1.05)
        } else {
            (0.0, 1.0)
        };
        let last = epochs.len().max(2) as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption("Training history", ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(1.0..last, lo..hi)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc("binary cross-entropy")
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()
            .map_err(draw_err)?;
        chart
            .draw_series(LineSeries::new(
                epochs.iter().map(|e| (e.epoch as f64, e.loss)),
                BLUE.stroke_width(2),
            ))
            .map_err(draw_err)?
            .label("loss (training)")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        if epochs.iter().any(|e| e.val_loss.is_some()) {
            let points = epochs
                .iter()
                .filter_map(|e| e.val_loss.map(|v| (e.epoch as f64, v)));
            chart
                .draw_series(LineSeries::new(points, RED.stroke_width(2)))
                .map_err(draw_err)?
                .label("val_loss (validation)")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    save_png(path, buf, (w, h))
}
