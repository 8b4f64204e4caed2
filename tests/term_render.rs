//! Renders recorded terminal output through `TermView` and checks the result cell by cell and
//! against snapshots (which live in `tests/fixtures/term/snapshots`).

use std::fmt::Write as _;

use cctui::term::{detect, ClaudeState, HookEvent, TermScreen, TermView};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use ratatui::Terminal;

/// Claude Code's output for one short turn: banner, prompt echo, a spinner frame that gets
/// erased, a diff with coloured backgrounds, the idle input box; with hook markers inside.
const SESSION: &[u8] = include_bytes!("fixtures/term/claude-session.ansi");

fn feed_in_chunks(screen: &mut TermScreen, bytes: &[u8], chunk: usize) -> Vec<HookEvent> {
    bytes.chunks(chunk).flat_map(|c| screen.feed(c)).collect()
}

fn draw(screen: &TermScreen, show_cursor: bool) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal
        .draw(|frame| {
            frame.render_widget(TermView::new(screen).show_cursor(show_cursor), frame.area())
        })
        .unwrap();
    terminal
}

/// The buffer as lines of style runs: `[fg/bg/modifiers]text` whenever the style changes.
fn styled_dump(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut last = None;
        let mut line = String::new();
        for x in 0..buf.area.width {
            let cell = &buf[(x, y)];
            let style = (cell.fg, cell.bg, cell.modifier);
            if last != Some(style) {
                let _ = write!(line, "[{:?}/{:?}/{:?}]", cell.fg, cell.bg, cell.modifier);
                last = Some(style);
            }
            line.push_str(cell.symbol());
        }
        let trimmed = line.trim_end_matches(' ');
        let trimmed = trimmed
            .strip_suffix("[Reset/Reset/NONE]")
            .unwrap_or(trimmed);
        writeln!(out, "{y:2} {trimmed}").unwrap();
    }
    out
}

fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("fixtures/term/snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings
}

#[test]
fn recorded_session_renders() {
    let mut screen = TermScreen::new(24, 80);
    let events = feed_in_chunks(&mut screen, SESSION, 7);
    assert_eq!(events, vec![HookEvent::PromptSubmit, HookEvent::Stop]);
    assert_eq!(screen.bytes_fed(), SESSION.len() as u64);
    assert!(screen.input_modes().bracketed_paste);
    assert!(!screen.input_modes().application_cursor);

    let text = screen.text();
    assert!(
        !text.contains("777"),
        "hook markers reached the screen:\n{text}"
    );
    assert!(
        !text.contains("esc to interrupt"),
        "the spinner frame was erased"
    );
    assert_eq!(detect(&text), Some(ClaudeState::Idle));

    let terminal = draw(&screen, true);
    let buf = terminal.backend().buffer().clone();
    snapshot_settings().bind(|| {
        insta::assert_snapshot!("session_text", terminal.backend());
        insta::assert_snapshot!("session_styles", styled_dump(&buf));
    });
}

fn find(buf: &Buffer, needle: &str) -> (u16, u16) {
    for y in 0..buf.area.height {
        let line: Vec<&str> = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        let joined: String = line.concat();
        if let Some(byte) = joined.find(needle) {
            // Convert the byte offset to a column: count cells before it.
            let mut len = 0;
            for (x, sym) in line.iter().enumerate() {
                if len == byte {
                    return (x as u16, y);
                }
                len += sym.len();
            }
        }
    }
    panic!("{needle:?} not on screen:\n{}", styled_dump(buf));
}

#[test]
fn cell_colours_and_attributes() {
    let mut screen = TermScreen::new(24, 80);
    screen.feed(SESSION);
    let terminal = draw(&screen, false);
    let buf = terminal.backend().buffer();

    // Truecolour foreground on the banner logo.
    let (x, y) = find(buf, "▐▛███▜▌");
    assert_eq!(buf[(x, y)].fg, Color::Rgb(215, 119, 87));
    assert_eq!(buf[(x, y)].bg, Color::Reset);
    // Bold title, dim version.
    let (x, y) = find(buf, "Claude Code v2");
    assert_eq!(buf[(x, y)].modifier, Modifier::BOLD);
    let (x, y) = find(buf, "v2.1.12");
    assert_eq!(buf[(x, y)].modifier, Modifier::DIM);
    // Diff lines: ANSI foreground on truecolour background.
    let (x, y) = find(buf, "+      #[arg(long)]");
    assert_eq!(
        (buf[(x, y)].fg, buf[(x, y)].bg),
        (Color::Green, Color::Rgb(2, 40, 0))
    );
    let (x, y) = find(buf, "-      quiet");
    assert_eq!(
        (buf[(x, y)].fg, buf[(x, y)].bg),
        (Color::Red, Color::Rgb(61, 1, 0))
    );
    // Bright blue underlined link, then back to plain.
    let (x, y) = find(buf, "https://docs");
    assert_eq!(buf[(x, y)].fg, Color::LightBlue);
    assert_eq!(buf[(x, y)].modifier, Modifier::UNDERLINED);
    let (x, y) = find(buf, " for the flags");
    assert_eq!(
        (buf[(x, y)].fg, buf[(x, y)].modifier),
        (Color::Reset, Modifier::empty())
    );
    // 256-colour glyph and italics.
    let (x, y) = find(buf, "✻ Cooked");
    assert_eq!(buf[(x, y)].fg, Color::Indexed(174));
    assert_eq!(buf[(x + 2, y)].modifier, Modifier::ITALIC);
    // The input box: Claude's own reversed-cell cursor and the dim placeholder.
    let (x, y) = find(buf, "❯ Try");
    assert_eq!(buf[(x + 2, y)].symbol(), "T");
    assert_eq!(buf[(x + 2, y)].modifier, Modifier::REVERSED);
    assert_eq!(buf[(x + 3, y)].modifier, Modifier::DIM);
    // Wide characters take two columns.
    let (x, y) = find(buf, "日");
    assert_eq!(buf[(x, y)].symbol(), "日");
    assert_eq!(buf[(x + 2, y)].symbol(), "本");
    assert_eq!(buf[(x + 4, y)].symbol(), "語");
}

#[test]
fn terminal_cursor_and_scrollback() {
    let mut screen = TermScreen::new(24, 80);
    // A shell-like program: the cursor stays visible after the prompt.
    let mut bytes = Vec::new();
    for i in 0..40 {
        bytes.extend_from_slice(format!("\x1b[3{}mline {i}\x1b[0m\r\n", i % 8).as_bytes());
    }
    bytes.extend_from_slice(b"$ ");
    screen.feed(&bytes);

    let terminal = draw(&screen, true);
    let buf = terminal.backend().buffer();
    assert_eq!(buf[(0, 23)].symbol(), "$");
    assert_eq!(
        buf[(2, 23)].modifier,
        Modifier::REVERSED,
        "cursor after the prompt"
    );
    assert_eq!(buf[(0, 0)].symbol(), "l");
    // "line 17" is on the top row: 40 lines plus the prompt row, 24 rows.
    assert_eq!(buf[(5, 0)].symbol(), "1");
    assert_eq!(buf[(6, 0)].symbol(), "7");
    assert_eq!(buf[(0, 0)].fg, Color::Red);

    let terminal = draw(&screen, false);
    assert_eq!(
        terminal.backend().buffer()[(2, 23)].modifier,
        Modifier::empty()
    );

    screen.scroll_up(10);
    let terminal = draw(&screen, true);
    let buf = terminal.backend().buffer();
    // Scrolled back: no cursor, "line 7" on top in colour 7 (gray).
    assert_eq!(buf[(5, 0)].symbol(), "7");
    assert_eq!(buf[(6, 0)].symbol(), " ");
    assert_eq!(buf[(0, 0)].fg, Color::Gray);
    assert!((0..80).all(|x| !buf[(x, 23)].modifier.contains(Modifier::REVERSED)));
    snapshot_settings().bind(|| insta::assert_snapshot!("scrolled_back", terminal.backend()));
}
