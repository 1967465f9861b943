//! The terminal side of the live view: raw mode, the alternate screen, keys and the frame loop.
//! This is the only part of `live` that does I/O; what is drawn comes from [`super::view`].

use std::io::{self, IsTerminal};
use std::time::{Duration, Instant};

use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use crossterm::execute;
use crossterm::terminal::{self, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use super::model::LiveModel;
use super::view::{draw, ViewOptions};
use crate::time::SimTime;

/// Something that moves the model forward in scenario time: the simulator, or a real run.
pub trait LiveSource {
    /// Advances to scenario time `to` (or as far as it has got, for a real run), applying what
    /// happened to `model`. Returns the scenario time reached.
    fn advance(&mut self, to: SimTime, model: &mut LiveModel) -> SimTime;
    /// True once the run has nothing more to show.
    fn finished(&self) -> bool;
    /// Whether the view may change the speed (a simulation can; a real run's time scale is fixed).
    fn speed_adjustable(&self) -> bool {
        true
    }
}

/// How the view ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewEnd {
    /// The run finished and the user closed the view.
    Finished,
    /// The user quit before the end (`q`, Esc or Ctrl-C).
    Quit,
}

/// Restores the terminal even when the loop panics or returns early.
struct TermGuard;

impl Drop for TermGuard {
    fn drop(&mut self) {
        let _ = terminal::disable_raw_mode();
        let _ = execute!(io::stdout(), LeaveAlternateScreen, crossterm::cursor::Show);
    }
}

/// Whether a full-screen view can run here (stdout and stdin are terminals).
pub fn available() -> bool {
    io::stdout().is_terminal() && io::stdin().is_terminal()
}

/// Runs the view until the user quits. Keys: space pauses, `+`/`-` double or halve the speed,
/// `q`, Esc or Ctrl-C quit. When the run finishes, the final state stays on screen until a key.
pub fn run(source: &mut dyn LiveSource, mut model: LiveModel) -> io::Result<(ViewEnd, LiveModel)> {
    let opts = ViewOptions { colour: std::env::var_os("NO_COLOR").is_none() };
    terminal::enable_raw_mode()?;
    let _guard = TermGuard;
    execute!(io::stdout(), EnterAlternateScreen, crossterm::cursor::Hide)?;
    let mut term = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    let frame = Duration::from_millis(50);
    let mut last = Instant::now();
    // Scenario time advances by wall time × speed; kept in f64 ms so slow speeds still move.
    let mut target_ms = model.clock.0 as f64;
    loop {
        let now = Instant::now();
        let dt = now.duration_since(last);
        last = now;
        if !model.paused && !model.finished {
            target_ms =
                (target_ms + dt.as_secs_f64() * 1000.0 * model.speed).min(model.end.0 as f64);
            let reached = source.advance(SimTime(target_ms as u64), &mut model);
            model.clock = model.clock.max(reached);
            if source.finished() {
                model.finished = true;
            }
        }
        term.draw(|f| draw(f, &model, opts))?;
        if event::poll(frame)? {
            if let Event::Key(k) = event::read()? {
                if k.kind != KeyEventKind::Press {
                    continue;
                }
                let ctrl_c =
                    k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
                match k.code {
                    _ if ctrl_c => return Ok((ViewEnd::Quit, model)),
                    KeyCode::Char('q') | KeyCode::Esc => {
                        let end = if model.finished { ViewEnd::Finished } else { ViewEnd::Quit };
                        return Ok((end, model));
                    }
                    KeyCode::Char(' ') | KeyCode::Char('p') => model.paused = !model.paused,
                    KeyCode::Char('+') | KeyCode::Char('=') if source.speed_adjustable() => {
                        model.speed = (model.speed * 2.0).min(1.0e9)
                    }
                    KeyCode::Char('-') | KeyCode::Char('_') if source.speed_adjustable() => {
                        model.speed = (model.speed / 2.0).max(0.25)
                    }
                    _ => {}
                }
            }
        }
    }
}
