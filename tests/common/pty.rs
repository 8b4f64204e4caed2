//! Runs a real program (usually the cctui binary) in a real PTY, and reads its screen
//! through a vt100 parser, as a person at a terminal would see it.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, Child, CommandBuilder, MasterPty, PtySize};

fn nz(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n.max(1)).unwrap()
}

pub struct PtyApp {
    pub parser: Arc<Mutex<vt100::Parser>>,
    pub bytes_read: Arc<Mutex<u64>>,
    /// Everything the program wrote, as bytes (the first 4 MiB).
    pub output: Arc<Mutex<Vec<u8>>>,
    writer: Box<dyn Write + Send>,
    master: Box<dyn MasterPty + Send>,
    pub child: Box<dyn Child + Send + Sync>,
    /// The thread that reads the PTY: done once all the child's output is in `output`.
    reader: std::thread::JoinHandle<()>,
}

impl PtyApp {
    /// Spawns `program args` in a PTY of `rows` x `cols` with these extra environment variables.
    pub fn spawn(
        program: &str,
        args: &[&str],
        env: &[(&str, String)],
        rows: u16,
        cols: u16,
    ) -> PtyApp {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("a PTY");
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pty.slave.spawn_command(cmd).expect("spawning in the PTY");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().unwrap();
        let writer = pty.master.take_writer().unwrap();
        let parser = Arc::new(Mutex::new(vt100::Parser::new(nz(rows), nz(cols), 0)));
        let bytes_read = Arc::new(Mutex::new(0u64));
        let output = Arc::new(Mutex::new(Vec::new()));
        let (p, n, o) = (parser.clone(), bytes_read.clone(), output.clone());
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 65536];
            while let Ok(k) = reader.read(&mut buf) {
                if k == 0 {
                    break;
                }
                p.lock().unwrap().process(&buf[..k]);
                *n.lock().unwrap() += k as u64;
                let mut o = o.lock().unwrap();
                if o.len() < 4 << 20 {
                    o.extend_from_slice(&buf[..k]);
                }
            }
        });
        PtyApp {
            parser,
            bytes_read,
            output,
            writer,
            master: pty.master,
            child,
            reader,
        }
    }

    /// Runs the cctui binary with a private config folder.
    pub fn cctui(config_dir: &std::path::Path, args: &[&str], rows: u16, cols: u16) -> PtyApp {
        super::label_config(config_dir);
        let env = vec![
            ("CCTUI_CONFIG_DIR", config_dir.display().to_string()),
            (
                "CCTUI_STATE_DIR",
                config_dir.join("state").display().to_string(),
            ),
            (
                "DOCKER_HOST",
                std::env::var("DOCKER_HOST").unwrap_or_default(),
            ),
            ("HOME", std::env::var("HOME").unwrap_or_default()),
            ("PATH", std::env::var("PATH").unwrap_or_default()),
        ];
        PtyApp::spawn(env!("CARGO_BIN_EXE_cctui"), args, &env, rows, cols)
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
        self.writer.flush().unwrap();
    }

    pub fn resize(&self, rows: u16, cols: u16) {
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        self.parser
            .lock()
            .unwrap()
            .screen_mut()
            .set_size(nz(rows), nz(cols));
    }

    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Waits until the screen satisfies `pred`; returns the time it took, or panics with the
    /// screen after `timeout`.
    pub fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Duration {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return start.elapsed();
            }
            if start.elapsed() > timeout {
                panic!("timed out after {timeout:?} waiting for {what}; the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn wait_for(&self, text: &str, timeout: Duration) -> Duration {
        self.wait_until(text, timeout, |s| s.contains(text))
    }

    /// Waits for the process to exit; true if it did within `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Ok(Some(_)) = self.child.try_wait() {
                // What it wrote just before it ended may not be read yet: wait for the
                // reader to reach the end (the PTY reads as closed once the child is gone).
                let drained = Instant::now();
                while !self.reader.is_finished() && drained.elapsed() < Duration::from_secs(2) {
                    std::thread::sleep(Duration::from_millis(10));
                }
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for PtyApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
