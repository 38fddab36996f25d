//! Server-rendered inline SVG charts for the dashboard: no script, no style from
//! elsewhere; colours come from the page's own stylesheet by class.
