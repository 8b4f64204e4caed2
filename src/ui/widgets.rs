//! Small drawing helpers shared by the panels and dialogs. A leaf: nothing from `app`.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::theme::Theme;

/// A bordered block with a title, highlighted when it has focus.
pub fn block<'a>(title: Line<'a>, focused: bool, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(if focused {
            theme.focus_border()
        } else {
            Style::new()
        })
}

/// A `width` x `height` box in the middle of `area`, no larger than it.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width.saturating_sub(2));
    let h = height.min(area.height.saturating_sub(2));
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// A dialog: cleared, bordered, titled, its lines wrapped.
pub fn popup(frame: &mut Frame, area: Rect, title: &str, lines: Vec<Line>, theme: &Theme) {
    frame.render_widget(Clear, area);
    let block = block(
        Line::styled(format!(" {title} "), theme.title()),
        true,
        theme,
    );
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}

/// The height a dialog of `width` needs for `lines` once wrapped, borders included.
pub fn wrapped_height(lines: &[Line], width: u16) -> u16 {
    let inner = width.saturating_sub(2).max(1) as usize;
    let rows: usize = lines.iter().map(|l| l.width().max(1).div_ceil(inner)).sum();
    rows as u16 + 2
}

/// "1 packet", "2 packets".
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A duration in the words `docker ps` uses: "45 seconds", "3 minutes", "2 hours", "4 days".
pub fn duration_words(secs: i64) -> String {
    let secs = secs.max(0);
    let (n, unit) = match secs {
        0..60 => (secs, "second"),
        60..3600 => (secs / 60, "minute"),
        3600..86400 => (secs / 3600, "hour"),
        _ => (secs / 86400, "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// Unix seconds of an RFC 3339 time as the engine writes it ("2026-12-02T01:07:20.12Z").
pub fn unix_time(rfc3339: &str) -> Option<i64> {
    let (date, time) = rfc3339.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let hms: String = time.chars().take(8).collect();
    let mut t = hms.split(':').map(|p| p.parse::<i64>().ok());
    let (h, min, s) = (t.next()??, t.next()??, t.next()??);
    if y < 1971 {
        return None; // "0001-01-01T00:00:00Z": never started
    }
    // Days from the civil date (Howard Hinnant's algorithm); the engine writes UTC.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(days * 86400 + h * 3600 + min * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_times_read_as_unix_seconds() {
        assert_eq!(unix_time("1970-01-02T00:00:00Z"), None);
        assert_eq!(
            unix_time("2026-12-02T01:07:20.123456789Z"),
            Some(1_796_173_640)
        );
        assert_eq!(unix_time("0001-01-01T00:00:00Z"), None);
        assert_eq!(unix_time("garbage"), None);
    }

    #[test]
    fn words_for_counts_and_durations() {
        assert_eq!(count(1, "packet", "packets"), "1 packet");
        assert_eq!(count(0, "packet", "packets"), "0 packets");
        assert_eq!(duration_words(59), "59 seconds");
        assert_eq!(duration_words(61), "1 minute");
        assert_eq!(duration_words(7300), "2 hours");
    }
}
