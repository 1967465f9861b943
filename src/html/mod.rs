//! The HTML report: one self-contained file with inline SVG charts.

pub mod page;
pub mod report;
pub mod svg;
